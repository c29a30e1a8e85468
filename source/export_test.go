package source

// SetHostLVMDirs points the VG name clash check at test directories and
// returns the function that restores the real ones.
func SetHostLVMDirs(dirs []string) func() {
	old := hostLVMDirs
	hostLVMDirs = dirs
	return func() { hostLVMDirs = old }
}
