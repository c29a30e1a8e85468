package convert_test

import (
	"context"
	"fmt"
	"log"

	"github.com/xenify/xenify/convert"
	"github.com/xenify/xenify/plan"
)

// A Go program converts a disk image and prints the steps as they run.
func ExampleRun() {
	res, err := convert.Run(context.Background(), convert.Options{
		Sources: []string{"/srv/xen/web1.img"},
		Plan:    plan.Options{Name: "web1", Memory: 1024},
		Progress: func(ev convert.Event) {
			if ev.Step != nil {
				fmt.Printf("[%d/%d] %s\n", ev.Step.Index, ev.Step.Total, ev.Step.What)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("start it with: xl create", res.ConfigPath)
}
