import Foundation
import SluiceWire

/// Renders record batches of one stream as JSON Lines, straight from the column vectors:
/// `{"_stream":"ns.name","col":value,…}` per row, with `"_op":"delete"` (or `"truncate"`)
/// after `_stream` for a delete (truncate) row, then `"_unchanged":["col",…]` naming the columns
/// a CDC row leaves unchanged (written as null). The format is PROTOCOL.md Appendix A:
///
/// Numbers are JSON numbers (NaN and ±Infinity as strings), decimals exact strings, bytes
/// base64, dates `YYYY-MM-DD` (BC as negative years), times `HH:MM:SS.ffffff` (timetz with
/// `±HH:MM`), timestamps `YYYY-MM-DDTHH:MM:SS.ffffff` (timestamptz with `Z`), ±infinity as
/// `"infinity"`/`"-infinity"`, intervals `{"months","days","micros"}`, UUIDs canonical text,
/// JSON documents as strings holding their exact text (so the document `null` is `"null"`,
/// never SQL NULL), lists as arrays, nulls as null.
struct BatchJSONRenderer {
    let schema: StreamSchema
    private let prefix: [UInt8]
    private let keys: [[UInt8]]
    private static let hex = Array("0123456789abcdef".utf8)
    private static let deleteMarker = Array(#","_op":"delete""#.utf8)
    private static let truncateMarker = Array(#","_op":"truncate""#.utf8)
    /// `,"_unchanged":[` and each column's name as a JSON string.
    private static let unchangedPrefix = Array(#","_unchanged":["#.utf8)
    private let quotedNames: [[UInt8]]

    init(schema: StreamSchema) {
        self.schema = schema
        var prefix = Array(#"{"_stream":"#.utf8)
        JSONStringText.append(schema.stream.description, to: &prefix)
        self.prefix = prefix
        keys = schema.columns.map { column in
            var key: [UInt8] = [UInt8(ascii: ",")]
            JSONStringText.append(JSONLinesKeys.key(forColumn: column.name), to: &key)
            key.append(UInt8(ascii: ":"))
            return key
        }
        quotedNames = schema.columns.map { column in
            var name: [UInt8] = []
            JSONStringText.append(column.name, to: &name)
            return name
        }
    }

    /// A column of the batch behind one reference: the per-cell calls then pass a pointer
    /// instead of copying the vector (ten arrays, each retained and released) for every cell,
    /// which took about 40% of the rendering.
    private final class Column {
        let vector: ColumnVector
        let child: Column?

        init(_ vector: ColumnVector) {
            self.vector = vector
            child = vector.child.map(Column.init)
        }
    }

    /// Appends one line per row of `batch`.
    func render(_ batch: RecordBatch, to out: inout [UInt8]) {
        if batch.operations.isEmpty, batch.columns.allSatisfy({ $0.unchanged.isEmpty }) {
            renderByColumns(batch, to: &out)
        } else {
            renderByRows(batch, to: &out)
        }
    }

    /// ``render(_:to:)`` for a batch of plain rows (no operations, nothing unchanged): each
    /// column's cells rendered in one loop of their kind, then joined into lines
    /// (`RowJoiner`). The same bytes as ``renderByRows(_:to:)``.
    func renderByColumns(_ batch: RecordBatch, to out: inout [UInt8]) {
        let rows = batch.rowCount
        guard rows > 0 else { return }
        var cells: [UInt8] = []
        cells.reserveCapacity(batch.columns.reduce(rows * 8) { $0 + $1.data.count + 8 * rows })
        var ends: [Int] = []
        ends.reserveCapacity(rows * batch.columns.count)
        for (index, vector) in batch.columns.enumerated() {
            Self.appendColumn(Column(vector), rows: rows, type: schema.columns[index].type, to: &cells, ends: &ends)
        }
        RowJoiner.append(to: &out, values: cells, ends: ends, rows: rows, separators: keys, head: prefix, tail: Self.lineEnd)
    }

    private static let lineEnd: [UInt8] = [UInt8(ascii: "}"), 0x0A]
    private static let null = Array("null".utf8)

    /// The cells of the first `rows` rows of one column, each followed by its end in `ends`.
    private static func appendColumn(_ column: Column, rows: Int, type: LogicalType, to out: inout [UInt8], ends: inout [Int]) {
        let vector = column.vector, validity = vector.validity
        func each(_ body: (Int, inout [UInt8]) -> Void) {
            for row in 0 ..< rows {
                if ColumnVector.isValid(row, in: validity) { body(row, &out) } else { out.append(contentsOf: null) }
                ends.append(out.count)
            }
        }
        switch type.kind {
        case .int16, .int32:
            let values = vector.int32s
            each { row, out in ASCIIDigits.append(values[row], to: &out) }
        case .int64:
            let values = vector.int64s
            each { row, out in ASCIIDigits.append(values[row], to: &out) }
        case .bool:
            let values = vector.bools
            each { row, out in out.append(contentsOf: (values[row] ? "true" : "false").utf8) }
        case .float64:
            let values = vector.float64s
            each { row, out in appendFloat(values[row], text: { values[row].description }, to: &out) }
        case .decimal, .string, .json:
            let data = vector.data, offsets = vector.offsets
            // The whole column at once, its runs between escapes copied with memcpy(3).
            if let values = ValueCopier(data: data, offsets: offsets, rows: rows) {
                values.append(to: &out, framing: .jsonString, isNull: { !ColumnVector.isValid($0, in: validity) }, ends: &ends)
                return
            }
            each { row, out in JSONStringText.append(utf8: data[Int(offsets[row]) ..< Int(offsets[row + 1])], to: &out) }
        case .timestamp, .timestamptz:
            let values = vector.int64s, utc = type.kind == .timestamptz
            each { row, out in quoted(&out) { TemporalText.appendTimestamp(values[row], utc: utc, to: &$0) } }
        case .date:
            let values = vector.int32s
            each { row, out in quoted(&out) { TemporalText.appendDate(values[row], to: &$0) } }
        case .list where appendTextLists(vector, rows: rows, elementKind: type.elementKind, to: &out, ends: &ends):
            return
        default:
            for row in 0 ..< rows {
                appendCell(column, row: row, type: type, to: &out)
                ends.append(out.count)
            }
        }
    }

    /// A column of lists of text, JSON or decimals: every element escaped at once (as a text
    /// column is), then each row's elements joined between brackets. False, with nothing
    /// appended, for other lists.
    private static func appendTextLists(_ vector: ColumnVector, rows: Int, elementKind: TypeKind,
                                        to out: inout [UInt8], ends: inout [Int]) -> Bool {
        guard [.string, .json, .decimal].contains(elementKind), let child = vector.child, vector.offsets.count > rows,
              let elements = ValueCopier(data: child.data, offsets: child.offsets, rows: Int(vector.offsets[rows]))
        else { return false }
        var texts: [UInt8] = [], textEnds: [Int] = []
        textEnds.reserveCapacity(Int(vector.offsets[rows]))
        let childValidity = child.validity, validity = vector.validity, offsets = vector.offsets
        elements.append(to: &texts, framing: .jsonString, isNull: { !ColumnVector.isValid($0, in: childValidity) }, ends: &textEnds)
        for row in 0 ..< rows {
            if ColumnVector.isValid(row, in: validity) {
                out.append(UInt8(ascii: "["))
                let first = Int(offsets[row])
                for element in first ..< Int(offsets[row + 1]) {
                    if element > first { out.append(UInt8(ascii: ",")) }
                    ByteCopy.append(texts, (element == 0 ? 0 : textEnds[element - 1]) ..< textEnds[element], to: &out)
                }
                out.append(UInt8(ascii: "]"))
            } else {
                out.append(contentsOf: null)
            }
            ends.append(out.count)
        }
        return true
    }

    /// ``render(_:to:)`` a row at a time: any batch, with operations and unchanged columns.
    func renderByRows(_ batch: RecordBatch, to out: inout [UInt8]) {
        let vectors = batch.columns
        let columns = vectors.map(Column.init)
        let types = schema.columns.map(\.type)
        let changing = vectors.indices.filter { !vectors[$0].unchanged.isEmpty }
        for row in 0..<batch.rowCount {
            out.append(contentsOf: prefix)
            if !batch.operations.isEmpty, batch.operations[row] == RowOperation.delete.rawValue {
                out.append(contentsOf: Self.deleteMarker)
            } else if !batch.operations.isEmpty, batch.operations[row] == RowOperation.truncate.rawValue {
                out.append(contentsOf: Self.truncateMarker)
            }
            let unchanged = changing.filter { columns[$0].vector.isUnchanged(row) }
            if !unchanged.isEmpty {
                out.append(contentsOf: Self.unchangedPrefix)
                for (position, index) in unchanged.enumerated() {
                    if position > 0 { out.append(UInt8(ascii: ",")) }
                    out.append(contentsOf: quotedNames[index])
                }
                out.append(UInt8(ascii: "]"))
            }
            for index in columns.indices {
                out.append(contentsOf: keys[index])
                Self.appendCell(columns[index], row: row, type: types[index], to: &out)
            }
            out.append(UInt8(ascii: "}"))
            out.append(0x0A)
        }
    }

    private static func appendCell(_ cells: Column, row: Int, type: LogicalType, to out: inout [UInt8]) {
        let column = cells.vector
        guard column.isValid(row) else { return out.append(contentsOf: "null".utf8) }
        switch type.kind {
        case .unspecified: out.append(contentsOf: "null".utf8)
        case .bool: out.append(contentsOf: (column.bools[row] ? "true" : "false").utf8)
        case .int16, .int32: ASCIIDigits.append(column.int32s[row], to: &out)
        case .int64: ASCIIDigits.append(column.int64s[row], to: &out)
        case .float32: appendFloat(Double(column.float32s[row]), text: { column.float32s[row].description }, to: &out)
        case .float64: appendFloat(column.float64s[row], text: { column.float64s[row].description }, to: &out)
        case .decimal, .string, .json:
            JSONStringText.append(utf8: column.data[slice(column, row)], to: &out)
        case .bytes:
            JSONStringText.append(Data(column.data[slice(column, row)]).base64EncodedString(), to: &out)
        case .date:
            quoted(&out) { TemporalText.appendDate(column.int32s[row], to: &$0) }
        case .time:
            quoted(&out) { TemporalText.appendTime(column.int64s[row], to: &$0) }
        case .timetz:
            quoted(&out) {
                TemporalText.appendTime(column.int64s[row], to: &$0)
                TemporalText.appendOffset(column.int32s[row], to: &$0)
            }
        case .timestamp, .timestamptz:
            quoted(&out) { TemporalText.appendTimestamp(column.int64s[row], utc: type.kind == .timestamptz, to: &$0) }
        case .interval:
            out.append(contentsOf: #"{"months":"#.utf8)
            ASCIIDigits.append(column.int32s[row], to: &out)
            out.append(contentsOf: #","days":"#.utf8)
            ASCIIDigits.append(column.intervalDays[row], to: &out)
            out.append(contentsOf: #","micros":"#.utf8)
            ASCIIDigits.append(column.int64s[row], to: &out)
            out.append(UInt8(ascii: "}"))
        case .uuid:
            quoted(&out) { out in
                let start = row * 16
                for offset in 0..<16 {
                    if offset == 4 || offset == 6 || offset == 8 || offset == 10 { out.append(UInt8(ascii: "-")) }
                    let byte = column.data[start + offset]
                    out.append(hex[Int(byte >> 4)])
                    out.append(hex[Int(byte & 0x0F)])
                }
            }
        case .list:
            out.append(UInt8(ascii: "["))
            if let child = cells.child {
                let elementType = LogicalType(type.elementKind)
                for element in Int(column.offsets[row])..<Int(column.offsets[row + 1]) {
                    if element > Int(column.offsets[row]) { out.append(UInt8(ascii: ",")) }
                    appendCell(child, row: element, type: elementType, to: &out)
                }
            }
            out.append(UInt8(ascii: "]"))
        }
    }

    private static func slice(_ column: ColumnVector, _ row: Int) -> Range<Int> {
        Int(column.offsets[row])..<Int(column.offsets[row + 1])
    }

    private static func quoted(_ out: inout [UInt8], _ body: (inout [UInt8]) -> Void) {
        out.append(UInt8(ascii: "\""))
        body(&out)
        out.append(UInt8(ascii: "\""))
    }

    /// A finite float as a JSON number (Swift's shortest round-trip text); NaN and ±Infinity as strings.
    private static func appendFloat(_ value: Double, text: () -> String, to out: inout [UInt8]) {
        if value.isNaN { return out.append(contentsOf: #""NaN""#.utf8) }
        if value.isInfinite { return out.append(contentsOf: (value > 0 ? #""Infinity""# : #""-Infinity""#).utf8) }
        out.append(contentsOf: text().utf8)
    }
}
