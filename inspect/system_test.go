package inspect

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestInitrdTools: every generator installed is listed, and RHEL 6/7's
// mkinitrd, a wrapper that runs dracut, counts as dracut.
func TestInitrdTools(t *testing.T) {
	const nash = "#!/bin/bash\n\n# mkinitrd\n#\n# Written by Erik Troan <ewt@redhat.com>\n"
	const wrapper = "#!/bin/bash --norc\n# mkinitrd compat for dracut\n. /usr/lib/dracut/dracut-functions.sh\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"initramfs-tools", map[string]string{"/usr/sbin/update-initramfs": "#!/bin/sh\n"}, []string{InitramfsTools}},
		{"dracut on Debian", map[string]string{"/usr/bin/dracut": "#!/bin/bash -p\n"}, []string{Dracut}},
		{"EL5 nash mkinitrd", map[string]string{"/sbin/mkinitrd": nash}, []string{Mkinitrd}},
		{"EL6 dracut and its mkinitrd wrapper", map[string]string{"/sbin/mkinitrd": wrapper, "/sbin/dracut": "#!/bin/bash\n"}, []string{Dracut}},
		{"update-initramfs calling dracut", map[string]string{"/usr/bin/dracut": "#!/bin/bash -p\n", "/usr/sbin/update-initramfs": "#!/bin/sh\n# compatibility wrapper\nexec dracut --force \"$@\"\n"}, []string{Dracut}},
		{"two generators", map[string]string{"/usr/bin/dracut": "#!/bin/bash -p\n", "/usr/sbin/update-initramfs": "#!/bin/sh\n"}, []string{Dracut, InitramfsTools}},
		{"none", map[string]string{"/bin/sh": ""}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := treeWith(t, tc.files)
			if diff := cmp.Diff(tc.want, initrdTools(root, findTools(root))); diff != "" {
				t.Errorf("initrdTools() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
