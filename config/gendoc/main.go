// Command gendoc prints the configuration reference as Markdown:
//
//	go run ./config/gendoc > config/REFERENCE.md
package main

import (
	"fmt"

	"github.com/junctionmq/junction/config"
)

func main() {
	fmt.Print(config.Reference())
}
