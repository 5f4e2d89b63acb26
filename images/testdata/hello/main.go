// Command hello is a static program for the images tests.
package main

import "fmt"

func main() { fmt.Println("hello from the image") }
