import PostgresClient
import SluiceWire

/// One row change of a stream, as pgoutput sent it, in the order of its shape's columns.
struct RowChange: Sendable {
    var operation: RowOperation
    /// One value per column of the shape: text, null, or unchanged (not sent).
    var values: [TupleValue]
    /// Which of the stream's column sets the values follow (see ``ChangeStream``).
    var shape: Int = 0
}

/// Turns pgoutput's text values into the same typed columns a full refresh sends, exactly, by
/// letting the server parse them: the rows go into a temporary table of the stream's column
/// types by text COPY (each value through its type's input function), then come back through
/// the full refresh's own select expressions and binary COPY decoder. Unchanged values travel
/// as NULL and are marked in the vectors' `unchanged` bitmaps; operations ride along.
final class ChangeConverter {
    private let connection: PostgresConnection
    private let maxFrameSize: Int
    private let maxRows: Int
    private let maxBytes: Int
    /// Temporary tables made so far, by stream and column set.
    private var tables: [TableKey: String] = [:]

    private struct TableKey: Hashable {
        var stream: StreamID
        var columns: [SourceColumn]
    }
    /// The ordering column added to each temporary table (a name no source column can clash
    /// with: the table is made from the stream's columns, which the name is checked against).
    static let orderColumn = "sluice cdc row"

    init(connection: PostgresConnection, maxFrameSize: Int, maxRows: Int, maxBytes: Int) {
        self.connection = connection
        self.maxFrameSize = maxFrameSize
        self.maxRows = maxRows
        self.maxBytes = maxBytes
    }

    /// The batches for `changes` of the stream `plan`, whose values follow `columns`, in order,
    /// each within the frame limit.
    func convert(_ changes: some Collection<RowChange>, plan: StreamPlan, columns: [SourceColumn]) async throws -> [RecordBatch] {
        guard !changes.isEmpty else { return [] }
        let changes = Array(changes)
        let table = try await temporaryTable(plan, columns: columns)
        var text: [UInt8] = []
        text.reserveCapacity(changes.count * 64)
        for (row, change) in changes.enumerated() {
            text.append(contentsOf: String(row).utf8)
            for value in change.values {
                text.append(0x09)
                switch value {
                case .text(let bytes): Self.appendEscaped(bytes, to: &text)
                case .null, .unchanged: text.append(contentsOf: [0x5C, 0x4E])
                case .binary:
                    throw PluginError(category: .protocol, code: "READ_FAILED", message: "stream \(plan.stream): a binary tuple value arrived; the source asks for text", stream: plan.stream)
                }
            }
            text.append(0x0A)
        }
        let names = ([Self.orderColumn] + columns.map(\.name)).map(SQL.quoteIdentifier).joined(separator: ", ")
        _ = try await connection.copyIn("COPY \(table) (\(names)) FROM STDIN") { writer in try await writer.send(text) }
        let select = columns.map { $0.plan.selectExpression(SQL.quoteIdentifier($0.name)) }.joined(separator: ", ")
        let decoder = CopyBatchDecoder(decodings: columns.map(\.plan.decoding), extraFields: 0, keyFields: [], maxFrameSize: maxFrameSize)
        var batches: [RecordBatch] = []
        var first = 0
        func take() {
            var batch = decoder.takeBatch(stream: plan.stream)
            let rows = changes[first ..< first + batch.rowCount]
            Self.mark(&batch, rows: rows, columns: columns.count)
            first += batch.rowCount
            batches.append(batch)
        }
        do {
            _ = try await connection.copyOut("COPY (SELECT \(select) FROM \(table) ORDER BY \(SQL.quoteIdentifier(Self.orderColumn))) TO STDOUT (FORMAT binary)") { chunk in
                var position = 0
                while position < chunk.count {
                    position = try decoder.decode(chunk, from: position, maxRows: self.maxRows, maxBytes: self.maxBytes)
                    if decoder.full || decoder.rows >= self.maxRows || decoder.bytes >= self.maxBytes { take() }
                }
            }
            if decoder.rows > 0 { take() }
        } catch let error as CopyFormatError {
            throw PluginError(category: .data, code: "READ_FAILED", message: "stream \(plan.stream): \(error.message)", stream: plan.stream)
        }
        _ = try await connection.execute("TRUNCATE \(table)")
        guard first == changes.count else {
            throw PluginError(category: .system, code: "READ_FAILED", message: "stream \(plan.stream): \(changes.count) changes went in, \(first) came back", stream: plan.stream)
        }
        return batches
    }

    /// The temporary table of the stream's column set `columns`, made on first use with the
    /// columns' types (the table's own, so domains and user types parse as they do there).
    private func temporaryTable(_ plan: StreamPlan, columns: [SourceColumn]) async throws -> String {
        let key = TableKey(stream: plan.stream, columns: columns)
        if let name = tables[key] { return name }
        let name = SQL.quoteIdentifier("sluice_cdc_\(tables.count)")
        let names = columns.map { SQL.quoteIdentifier($0.name) }.joined(separator: ", ")
        _ = try await connection.executeScript("""
            CREATE TEMPORARY TABLE \(name) AS SELECT \(names) FROM \(plan.qualifiedName) WITH NO DATA;
            ALTER TABLE \(name) ADD COLUMN \(SQL.quoteIdentifier(Self.orderColumn)) int
            """)
        tables[key] = name
        return name
    }

    /// Sets the batch's operations (when any row is not an upsert) and the unchanged bitmaps of
    /// its `columns` columns.
    static func mark(_ batch: inout RecordBatch, rows: ArraySlice<RowChange>, columns: Int) {
        if rows.contains(where: { $0.operation != .upsert }) {
            batch.operations = rows.map(\.operation.rawValue)
        }
        for column in 0 ..< columns {
            var bitmap: [UInt8] = []
            for (offset, change) in rows.enumerated() where change.values[column] == .unchanged {
                if bitmap.isEmpty { bitmap = [UInt8](repeating: 0, count: (rows.count + 7) / 8) }
                bitmap[offset >> 3] |= 1 << UInt8(offset & 7)
            }
            batch.columns[column].unchanged = bitmap
        }
    }

    /// Appends `bytes` in COPY text format: backslash, tab, newline and carriage return escaped.
    static func appendEscaped(_ bytes: [UInt8], to text: inout [UInt8]) {
        for byte in bytes {
            switch byte {
            case 0x5C: text.append(contentsOf: [0x5C, 0x5C])
            case 0x09: text.append(contentsOf: [0x5C, 0x74])
            case 0x0A: text.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: text.append(contentsOf: [0x5C, 0x72])
            default: text.append(byte)
            }
        }
    }
}
