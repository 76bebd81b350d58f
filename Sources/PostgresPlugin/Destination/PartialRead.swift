import SluiceWire

extension ConfiguredStream {
    /// Why the rows a Write receives for this stream are not the whole stream (PROTOCOL.md §4.5:
    /// its read is cut by `limit`, or incremental), so mirror must not delete the rows that did
    /// not arrive and replace must not swap in only those that did; nil when they are the
    /// whole stream.
    var partialRead: String? {
        if limit > 0 { return "its read stops after \(limit) rows (limit)" }
        if syncMode == .incremental { return "it is read incrementally" }
        if syncMode == .cdc { return "it is read by change data capture" }
        return nil
    }
}
