import SluiceWire

/// A discovered stream that a pipeline without a catalog leaves out because the source cannot
/// read it, with the source's remedy (for postgres-plugin, the GRANT statements).
struct SkippedStream: Sendable {
    var stream: StreamID
    var remedy: String

    /// `stream X: not readable by the source's role; to read it: GRANT …`.
    var line: String {
        "stream \(stream): not readable by the source's role" + (remedy.isEmpty ? "" : "; to read it: \(remedy)")
    }
}
