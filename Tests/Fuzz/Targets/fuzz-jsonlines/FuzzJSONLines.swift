import Foundation
@testable import PluginHostKit
import SluiceWire

/// plugin-host's JSON Lines reader (PROTOCOL.md Appendix A) as `write` uses it: the line reader,
/// the JSON parser and the per-type value readers, into record batches.
///
/// Every row that reads becomes part of a batch that passes the protocol's own validation, and
/// whose JSON Lines rendering (what `read` writes) reads back to the same batch.
enum FuzzJSONLines {
    /// One column per kind, and a list of each scalar kind.
    private static let schema: StreamSchema = {
        let scalars = TypeKind.allCases.filter { $0 != .unspecified && $0 != .list }
        let columns = scalars.map { Column(name: "\($0)", type: LogicalType($0)) }
            + scalars.map { Column(name: "list_\($0)", type: LogicalType(.list, elementKind: $0)) }
            + [Column(name: "_op", type: LogicalType(.string))]
        return StreamSchema(stream: StreamID(namespace: "public", name: "t"), columns: columns, primaryKey: ["int64"])
    }()
    private static let renderer = BatchJSONRenderer(schema: schema)
    private static let columnIndex = Dictionary(schema.columns.enumerated().map { ($0.element.name, $0.offset) }) { first, _ in first }
    private static let inputPath = NSTemporaryDirectory() + "sluice-fuzz-jsonlines-\(getpid()).jsonl"

    static func run(_ input: [UInt8]) {
        guard (try? Data(input).write(to: URL(fileURLWithPath: inputPath))) != nil,
              let reader = try? LineReader(path: inputPath) else { preconditionFailure("cannot write \(inputPath)") }
        var rows = StreamRows(schema: schema, capacity: 16)
        while let line = try? reader.nextLine() {
            guard let (row, operation, unchanged) = read(reader.buffer, line) else { continue }
            try? rows.append(row, operation: operation, unchanged: unchanged, bytes: StreamRows.encodedBytes(of: row))
        }
        var batch = rows.takeBatch()
        do { try batch.validate(against: schema) } catch { preconditionFailure("the rows read make an invalid batch: \(error)") }
        var rendered: [UInt8] = []
        renderer.render(batch, to: &rendered)
        var again = StreamRows(schema: schema, capacity: 16)
        var start = 0
        for end in rendered.indices where rendered[end] == UInt8(ascii: "\n") {
            guard let (row, operation, unchanged) = read(rendered, start ..< end) else {
                preconditionFailure("a rendered row does not read back: \(String(decoding: rendered[start ..< end], as: UTF8.self))")
            }
            do { try again.append(row, operation: operation, unchanged: unchanged, bytes: 0) } catch { preconditionFailure("a rendered row does not fit: \(error)") }
            start = end + 1
        }
        var rerendered: [UInt8] = []
        renderer.render(again.takeBatch(), to: &rerendered)
        precondition(rendered == rerendered, "rows changed through render and read")
    }

    /// One line as `write` reads it (BatchAssembler.appendRow): an object naming this stream,
    /// an optional `_op` and `_unchanged`, then columns; nil when the line would be refused.
    private static func read(_ bytes: [UInt8], _ range: Range<Int>) -> (row: [Value], operation: RowOperation, unchanged: [Int])? {
        guard let members = (try? JSONParser.parse(bytes, range: range))?.objectMembers,
              Set(members.map(\.key)).count == members.count,
              members.first(where: { $0.key == JSONLinesKeys.stream })?.value.stringValue == schema.stream.description else { return nil }
        var row = [Value](repeating: .null, count: schema.columns.count)
        var operation = RowOperation.upsert
        var unchanged: [Int] = []
        for member in members where member.key != JSONLinesKeys.stream {
            if member.key == JSONLinesKeys.operation {
                switch member.value.stringValue {
                case "delete": operation = .delete
                case "upsert": operation = .upsert
                case "truncate": operation = .truncate
                default: return nil
                }
                continue
            }
            if member.key == JSONLinesKeys.unchanged {
                guard let names = member.value.arrayElements?.map(\.stringValue) else { return nil }
                for name in names {
                    guard let name, let column = columnIndex[name], !unchanged.contains(column) else { return nil }
                    unchanged.append(column)
                }
                continue
            }
            guard let name = JSONLinesKeys.column(forKey: member.key), let column = columnIndex[name],
                  let value = try? ValueFromJSON.value(member.value, type: schema.columns[column].type) else { return nil }
            row[column] = value
        }
        guard StreamRows.changeProblem(row, operation: operation, unchanged: unchanged, schema: schema, key: schema.primaryKey) == nil else { return nil }
        return (row, operation, unchanged)
    }
}
