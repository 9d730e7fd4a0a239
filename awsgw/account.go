package awsgw

import "github.com/junctionmq/junction/core/auth"

// requestAccount picks the account of a request that names no resource
// (ListQueues, CreateTopic, ...): the default account if the user may use
// "/", else the account of the first mapped vhost the user has
// permissions on, else the default account.
func requestAccount(users *auth.Store, req *request) string {
	if req.id4.anyKey || users.CheckVhostAccess(req.id4.user, auth.DefaultVhost) == nil {
		if a := users.AccountForVhost(auth.DefaultVhost); a != "" {
			return a
		}
	}
	for _, p := range users.ListPermissions(req.id4.user, "") {
		if a := users.AccountForVhost(p.Vhost); a != "" {
			return a
		}
	}
	return auth.DefaultAccount
}
