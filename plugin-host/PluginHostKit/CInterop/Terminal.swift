#if canImport(Glibc)
import Glibc
#endif

/// What the host asks of a terminal: whether a descriptor is one, and how wide it is.
enum Terminal {
    /// Whether `descriptor` (STDERR_FILENO, STDOUT_FILENO) is a terminal.
    static func isTerminal(_ descriptor: Int32) -> Bool {
        isatty(descriptor) == 1
    }

    /// The width of the terminal on `descriptor` in columns; 80 when it cannot be told.
    static func columns(_ descriptor: Int32) -> Int {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}
