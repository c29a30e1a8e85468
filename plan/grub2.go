package plan

import "github.com/xenify/xenify/xerr"

// stepBootGrub2 is filled in with the GRUB 2 rewriter.
func stepBootGrub2(c *Context) error {
	return xerr.Refuse(c.In.Boot.ConfigPath, 0, "use --boot direct", "GRUB 2 configurations are not rewritten yet")
}
