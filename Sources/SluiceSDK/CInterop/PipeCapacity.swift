import SluiceSystemC

/// The capacity of the pipes a host starts a plugin with (its stdin and stdout).
///
/// Only the host, which made them, sets it: Linux counts pipe buffers per user, and once a
/// user's pipes hold more than `/proc/sys/fs/pipe-user-pages-soft` (64 MiB by default), the
/// pipes it creates next get a page or two. A plugin enlarging its own would spend that budget
/// for hosts that may run hundreds of plugins; plugin-host runs a few.
enum PipeCapacity {
    /// 1 MiB, Linux's default limit for an unprivileged process (`/proc/sys/fs/pipe-max-size`),
    /// where a pipe holds 64 KiB by default: a batch of a few megabytes then crosses in a few
    /// writes and reads instead of dozens, each of which would wait for the other side.
    static let frames = 1 << 20

    /// Asks for ``frames`` of capacity on the pipe `descriptor` belongs to. A refusal (a system
    /// limit, not a pipe, or not Linux) leaves the descriptor as it was, which works too.
    static func enlarge(_ descriptor: Int32) {
        _ = sluice_set_pipe_capacity(descriptor, Int32(frames))
    }

    /// The bytes written to the pipe `descriptor` belongs to and not read yet, or nil when the
    /// system cannot tell.
    static func unreadBytes(_ descriptor: Int32) -> Int? {
        let bytes = sluice_pipe_unread_bytes(descriptor)
        return bytes < 0 ? nil : Int(bytes)
    }
}
