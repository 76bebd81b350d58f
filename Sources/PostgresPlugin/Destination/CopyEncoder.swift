import SluiceWire

/// A value of a batch that can't be written, with where it is.
struct RowError: Error {
    var column: String
    /// Zero-based row within the batch.
    var row: Int
    var reason: String
}

/// Encodes record batches as PostgreSQL binary COPY data, row by row straight from the
/// column vectors, with the plan's metadata fields and, for staging, sequence and delete flag.
struct CopyEncoder {
    /// `PGCOPY\n\377\r\n\0`, flags, header extension length.
    static let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]
    static let trailer: [UInt8] = [0xFF, 0xFF]

    let plan: WritePlan
    let staging: Bool
    /// The metadata fields every row ends with, encoded once.
    private let metadataFields: [UInt8]
    private let fieldCount: Int16
    var fields: FieldEncoder
    /// A batch's fields column after column, and where each ends, before they are
    /// interleaved into rows (see ``appendByColumns(_:sequence:)``).
    private var columnFields = BinaryBuffer()
    private var fieldEnds: [Int] = []

    init(plan: WritePlan, staging: Bool, syncedAtMicros: Int64, sourceName: String, failOnNul: Bool, capacity: Int) {
        self.plan = plan
        self.staging = staging
        var metadata = BinaryBuffer()
        if plan.hasSyncedAt {
            metadata.int32(8)
            metadata.int64(syncedAtMicros - FieldEncoder.epochMicros)
        }
        if plan.hasSource {
            let source = Array(sourceName.utf8).filter { $0 != 0 }
            metadata.int32(Int32(source.count))
            metadata.bytes.append(contentsOf: source)
        }
        metadataFields = metadata.bytes
        fieldCount = Int16(plan.columns.count + plan.metadataColumns.count + (staging ? TableLimits.stagingColumns(plan).count : 0))
        fields = FieldEncoder(capacity: capacity, failOnNul: failOnNul)
    }

    /// ``append(_:sequence:origins:flushVectors:)`` for batches without deletes or unchanged
    /// values: each column encoded in one pass (``FieldEncoder/column(_:rows:type:plainJSON:ends:)``),
    /// then the fields copied into rows with the row headers and trailing fields.
    private mutating func appendByColumns(_ batch: RecordBatch, sequence: inout Int64) throws(RowError) {
        let rows = batch.rowCount
        guard rows > 0 else { return }
        let count = batch.columns.count
        fieldEnds.removeAll(keepingCapacity: true)
        fieldEnds.reserveCapacity(count * rows)
        columnFields.bytes.removeAll(keepingCapacity: true)
        swap(&fields.out, &columnFields)
        for index in 0 ..< count {
            let column = plan.columns[index]
            do {
                try fields.column(batch.columns[index], rows: rows, type: column.type, plainJSON: column.plainJSON, ends: &fieldEnds)
            } catch {
                swap(&fields.out, &columnFields)
                throw RowError(column: plan.schema.columns[index].name, row: error.row, reason: error.reason)
            }
        }
        swap(&fields.out, &columnFields)
        let header = UInt16(bitPattern: fieldCount)
        let unchangedFlags = plan.cdc
        // Staged rows end with the sequence (int8), the delete flag (bool, false) and, for a
        // CDC stream, no unchanged flags (NULL).
        let stagedBytes = staging ? 17 + (unchangedFlags ? 4 : 0) : 0
        let firstSequence = sequence
        RowJoiner.append(to: &fields.out.bytes, values: columnFields.bytes, ends: fieldEnds, rows: rows,
                         separators: Array(repeating: [], count: count),
                         head: [UInt8(truncatingIfNeeded: header >> 8), UInt8(truncatingIfNeeded: header)],
                         tail: metadataFields, perRowBytes: stagedBytes) { row, staged in
            staged[3] = 8
            let bits = UInt64(bitPattern: firstSequence + Int64(row))
            for index in 0 ..< 8 { staged[4 + index] = UInt8(truncatingIfNeeded: bits >> UInt64(56 - 8 * index)) }
            staged[15] = 1
            if unchangedFlags { for index in 17 ..< 21 { staged[index] = 0xFF } }
        }
        sequence += Int64(rows)
    }

    /// The staged row's unchanged flags: NULL when it keeps nothing, else one byte per column.
    private mutating func appendUnchanged(_ kept: [Int], columns: Int) {
        guard !kept.isEmpty else { return fields.out.int32(-1) }
        var flags = [UInt8](repeating: 0, count: columns)
        for index in kept { flags[index] = 1 }
        fields.out.int32(Int32(columns))
        fields.out.bytes.append(contentsOf: flags)
    }

    /// Takes the bytes encoded so far.
    mutating func take() -> [UInt8] {
        let bytes = fields.out.bytes
        fields.out.bytes.removeAll(keepingCapacity: true)
        return bytes
    }

    mutating func appendHeader() { fields.out.bytes.append(contentsOf: Self.header) }
    mutating func appendTrailer() { fields.out.bytes.append(contentsOf: Self.trailer) }

    /// Appends the rows of `batch` (optionally only upserts); `sequence` numbers staged rows.
    /// A CDC stream's unchanged values are taken from the row `origins` names (the flush's
    /// batches' vectors in `flushVectors`), or staged as NULL with their unchanged flag set.
    mutating func append(_ batch: RecordBatch, sequence: inout Int64, origins: [Int: [Int: UnchangedOrigins.Origin]]? = nil,
                         flushVectors: [[VectorReader]] = []) throws(RowError) {
        if batch.carriesPostgresRows { return try appendPostgresRows(batch, sequence: &sequence) }
        let deletes = batch.operations.contains(RowOperation.delete.rawValue)
        if origins == nil, !deletes { return try appendByColumns(batch, sequence: &sequence) }
        try appendByRows(batch, sequence: &sequence, origins: origins, flushVectors: flushVectors)
    }

    /// A batch of PostgreSQL rows (PROTOCOL.md §5.12), whose stream the plan takes as they are
    /// (``WritePlan/takesPostgresRows``): the tuples unchanged when the COPY carries just the
    /// stream's columns, else each followed by the metadata fields and, staged, its sequence
    /// and delete flag (false), its field count raised to match.
    private mutating func appendPostgresRows(_ batch: RecordBatch, sequence: inout Int64) throws(RowError) {
        guard plan.takesPostgresRows else {
            throw RowError(column: plan.columns.first?.name ?? "", row: 0, reason: "the stream does not take PostgreSQL rows")
        }
        if Int(fieldCount) == plan.columns.count {
            fields.out.bytes.append(contentsOf: batch.postgresRows)
        } else {
            let rows = batch.postgresRows, count = fieldCount, metadata = metadataFields, staged = staging
            var out = BinaryBuffer(), next = sequence
            swap(&out, &fields.out)
            defer { swap(&out, &fields.out) }
            do throws(ProtocolError) {
                _ = try PostgresRows.walk(rows, fields: plan.columns.count) { range throws(ProtocolError) in
                    out.int16(count)
                    out.bytes.append(contentsOf: rows[range])
                    out.bytes.append(contentsOf: metadata)
                    guard staged else { return }
                    out.int32(8)
                    out.int64(next)
                    out.int32(1)
                    out.bytes.append(0)
                    next += 1
                }
            } catch {
                throw RowError(column: plan.columns.first?.name ?? "", row: 0, reason: "\(error)")
            }
        }
        sequence += Int64(batch.rowCount)
    }

    /// ``append(_:sequence:origins:flushVectors:)`` a row at a time, each value where its row
    /// says (a delete's NULLs, another batch's unchanged value).
    mutating func appendByRows(_ batch: RecordBatch, sequence: inout Int64, origins: [Int: [Int: UnchangedOrigins.Origin]]?,
                               flushVectors: [[VectorReader]]) throws(RowError) {
        let types = plan.columns.map(\.type)
        let plainJSON = plan.columns.map(\.plainJSON)
        let isKey = plan.columns.map { plan.key.containsExactly($0.name) }
        let vectors = batch.columns.map(VectorReader.init)
        let operations = batch.operations
        let count = vectors.count
        for row in 0..<batch.rowCount {
            let isDelete = !operations.isEmpty && operations[row] == RowOperation.delete.rawValue
            fields.out.int16(fieldCount)
            let rowOrigins = origins?[row]
            var kept: [Int] = []
            for index in 0..<count {
                if isDelete, !isKey[index] {
                    fields.out.int32(-1)
                    continue
                }
                var vector = vectors[index], sourceRow = row
                switch rowOrigins?[index] {
                case .row(let batch, let row)?:
                    vector = flushVectors[batch][index]
                    sourceRow = row
                case .destination?:
                    kept.append(index)
                case nil:
                    break
                }
                do {
                    try fields.field(vector, row: sourceRow, type: types[index], plainJSON: plainJSON[index])
                } catch {
                    throw RowError(column: plan.schema.columns[index].name, row: row, reason: error.reason)
                }
            }
            fields.out.bytes.append(contentsOf: metadataFields)
            if staging {
                fields.out.int32(8)
                fields.out.int64(sequence)
                fields.out.int32(1)
                fields.out.bytes.append(isDelete ? 1 : 0)
                if plan.cdc { appendUnchanged(kept, columns: count) }
            }
            sequence += 1
        }
    }
}
