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
        var rows = JSONLinesRowReader(catalog: catalog, capacity: min(batchSize, 65536))
        var batches: [RecordBatch] = []
        var start = 0, line = 0
        while start < text.count {
            let newline = ByteSearch.firstIndex(of: 0x0A, in: text, from: start) ?? text.count
            line += 1
            let end = newline > start && text[newline - 1] == 0x0D ? newline - 1 : newline
            defer { start = newline + 1 }
            guard text[start ..< end].contains(where: { $0 != 0x20 && $0 != 0x09 }) else { continue }
            do throws(JSONLinesRowReader.Problem) {
                let (index, cut) = try rows.append(text, start ..< end, maxFrameSize: maxFrameSize)
                if let cut { batches.append(cut) }
                if rows.streams[index].count >= batchSize { batches.append(rows.takeBatch(index)) }
            } catch {
                throw LineError(line: line, message: error.message)
            }
        }
        for index in rows.streams.indices where rows.streams[index].count > 0 { batches.append(rows.takeBatch(index)) }
        return batches
    }
}
