import SluiceSystemC

/// The capacity of the pipes between a host and its plugins: the host sets it on the pipes it
/// starts a plugin with, and a plugin on its standard input and output, whichever host started it.
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
}
