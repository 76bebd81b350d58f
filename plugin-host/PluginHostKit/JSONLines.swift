public import SluiceWire

/// JSON Lines rows (PROTOCOL.md Appendix A) as `plugin-host read --output` writes them and
/// `plugin-host write --input` reads them, for tools built on PluginHostKit
/// (`sluice-bench jsonl` measures both with these).
public enum JSONLines {
    /// A line that is not a row of the catalog's streams, or a value its column refuses.
    public struct LineError: Error, CustomStringConvertible {
        /// The line's number, from 1.
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Appends one line per row of `batch`, a batch of the stream `schema` describes.
    public static func render(_ batch: RecordBatch, schema: StreamSchema, to out: inout [UInt8]) {
        BatchJSONRenderer(schema: schema).render(batch, to: &out)
    }

    /// The rows of `text` (lines of the streams of `catalog`, blank lines skipped) read into
    /// batches of at most `batchSize` rows per stream, each fitting a frame of `maxFrameSize`
    /// bytes, in the order `plugin-host write` sends them.
    public static func read(_ text: [UInt8], catalog: ConfiguredCatalog, batchSize: Int,
                            maxFrameSize: Int = Int(Hello.defaultMaxFrameSize)) throws(LineError) -> [RecordBatch] {
        var rows = JSONLinesRowReader(catalog: catalog, batchSize: batchSize)
        let lines = LineReader(bytes: text)
        var batches: [RecordBatch] = []
        // Bytes in memory: the reader neither waits nor reads, so nothing else throws.
        while let line = try? lines.nextLine() {
            do throws(JSONLinesRowReader.Problem) {
                let cuts = try rows.append(lines.buffer, line, maxFrameSize: maxFrameSize)
                if let before = cuts.before { batches.append(before) }
                if let after = cuts.after { batches.append(after) }
            } catch {
                throw LineError(line: lines.lineNumber, message: error.message)
            }
        }
        batches += rows.takeRemaining()
        return batches
    }
}
