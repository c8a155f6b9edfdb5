#if canImport(Glibc)
import Glibc
#endif
import VMCtlCommands

// Writing to a closed pipe or to a libvirt connection the daemon dropped (it restarted) must fail the write,
// which vmctl reports in one line, instead of killing vmctl silently with SIGPIPE. Children get the
// default back (ChildProcess, and ssh before it replaces vmctl).
signal(SIGPIPE, SIG_IGN)
VMCtl.main()
VMCtl.exitUnlessOutputWritten()
