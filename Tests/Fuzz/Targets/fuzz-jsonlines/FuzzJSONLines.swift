import Foundation
@testable import PluginHostKit
import SluiceWire

/// plugin-host's JSON Lines reader (PROTOCOL.md Appendix A) as `write` uses it: the line reader
/// and ``JSONLinesRowReader``, into record batches.
///
/// Every line reads the same by the fast path and by the JSON parse (the same rows, or both
/// refused with the same message); every row that reads becomes part of a batch that passes the
/// protocol's own validation, and whose JSON Lines rendering (what `read` writes) reads back to
/// the same batch.
enum FuzzJSONLines {
    /// One column per kind, and a list of each scalar kind.
    private static let schema: StreamSchema = {
        let scalars = TypeKind.allCases.filter { $0 != .unspecified && $0 != .list }
        let columns = scalars.map { Column(name: "\($0)", type: LogicalType($0)) }
            + scalars.map { Column(name: "list_\($0)", type: LogicalType(.list, elementKind: $0)) }
            + [Column(name: "_op", type: LogicalType(.string))]
        return StreamSchema(stream: StreamID(namespace: "public", name: "t"), columns: columns, primaryKey: ["int64"])
    }()
    private static let catalog = ConfiguredCatalog(streams: [ConfiguredStream(schema: schema)])
    private static let renderer = BatchJSONRenderer(schema: schema)
    /// The file each input is written to for the line reader; removed when the process exits.
    private static let inputPath: String = {
        atexit { try? FileManager.default.removeItem(atPath: FuzzJSONLines.inputPath) }
        return NSTemporaryDirectory() + "sluice-fuzz-jsonlines-\(getpid()).jsonl"
    }()
    private static let maxBatchBytes = 1 << 24

    static func run(_ input: [UInt8]) {
        guard (try? Data(input).write(to: URL(fileURLWithPath: inputPath))) != nil,
              let reader = try? LineReader(path: inputPath) else { preconditionFailure("cannot write \(inputPath)") }
        var fast = JSONLinesRowReader(catalog: catalog, batchSize: 16)
        var parse = JSONLinesRowReader(catalog: catalog, batchSize: 16, fastPath: false)
        while let line = try? reader.nextLine() {
            let byFast = read(&fast, reader.buffer, line), byParse = read(&parse, reader.buffer, line)
            precondition(byFast?.message == byParse?.message, "the paths disagree on a line: fast \(byFast?.message ?? "read"), parse \(byParse?.message ?? "read")")
            if byFast?.appending == true || byParse?.appending == true {
                // A row refused while appending leaves its stream's rows unusable (the input would stop there).
                fast = JSONLinesRowReader(catalog: catalog, batchSize: 16)
                parse = JSONLinesRowReader(catalog: catalog, batchSize: 16, fastPath: false)
            }
        }
        var batch = fast.takeBatch(0)
        do { try batch.validate(against: schema) } catch { preconditionFailure("the rows read make an invalid batch: \(error)") }
        var rendered: [UInt8] = []
        renderer.render(batch, to: &rendered)
        var parsedRendered: [UInt8] = []
        renderer.render(parse.takeBatch(0), to: &parsedRendered)
        precondition(rendered == parsedRendered, "the paths read different rows")
        var again = JSONLinesRowReader(catalog: catalog, batchSize: 16)
        var start = 0
        for end in rendered.indices where rendered[end] == UInt8(ascii: "\n") {
            if let problem = read(&again, rendered, start ..< end) {
                preconditionFailure("a rendered row does not read back (\(problem.message)): \(String(decoding: rendered[start ..< end], as: UTF8.self))")
            }
            start = end + 1
        }
        var rerendered: [UInt8] = []
        renderer.render(again.takeBatch(0), to: &rerendered)
        precondition(rendered == rerendered, "rows changed through render and read")
    }

    /// Reads one line as `write` does; nil when it reads, else the message refusing it and
    /// whether it was refused while appending (after ``JSONLinesRowReader/prepare``).
    private static func read(_ rows: inout JSONLinesRowReader, _ bytes: [UInt8], _ range: Range<Int>) -> (message: String, appending: Bool)? {
        do throws(JSONLinesRowReader.Problem) {
            _ = try rows.prepare(bytes, range, maxBatchBytes: maxBatchBytes)
        } catch {
            return (error.message, false)
        }
        do throws(JSONLinesRowReader.Problem) {
            try rows.commit(bytes)
            return nil
        } catch {
            return (error.message, true)
        }
    }
}
