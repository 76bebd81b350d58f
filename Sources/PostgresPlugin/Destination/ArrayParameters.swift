import PostgresClient
import SluiceWire

/// Builds one binary array parameter per written column, for `INSERT … SELECT … FROM unnest(…)`.
enum ArrayParameters {
    /// The parameters for `batches` (upserts only; list columns as array literals), plus NUL bytes
    /// stripped; `firstRow` is the stream position of the first row, for errors.
    static func build(plan: WritePlan, batches: [RecordBatch], rows: Int, firstRow: Int, syncedAtMicros: Int64, sourceName: String,
                      failOnNul: Bool) throws(RowError) -> (parameters: [PostgresValue], nulBytesStripped: UInt64) {
        var parameters: [PostgresValue] = []
        var stripped: UInt64 = 0
        for (index, column) in plan.columns.enumerated() {
            let isList = column.type.kind == .list
            var encoder = FieldEncoder(capacity: rows * 12 + 20, failOnNul: failOnNul)
            header(&encoder.out, kind: isList ? .string : column.type.kind, plainJSON: column.plainJSON, rows: rows)
            var position = firstRow
            for batch in batches {
                let vector = VectorReader(batch.columns[index])
                for row in 0..<batch.rowCount {
                    do {
                        if isList {
                            try encoder.listLiteral(vector, row: row, elementKind: column.type.elementKind)
                        } else {
                            try encoder.field(vector, row: row, type: column.type, plainJSON: column.plainJSON)
                        }
                    } catch {
                        throw RowError(column: plan.schema.columns[index].name, row: position + row, reason: error.reason)
                    }
                }
                position += batch.rowCount
            }
            stripped += encoder.nulBytesStripped
            parameters.append(.binary(encoder.out.bytes, oid: PostgresTypes.arrayOID(isList ? .string : column.type.kind, plainJSON: column.plainJSON)))
        }
        if plan.hasSyncedAt {
            var out = BinaryBuffer(capacity: rows * 12 + 20)
            header(&out, kind: .timestamptz, rows: rows)
            for _ in 0..<rows {
                out.int32(8)
                out.int64(syncedAtMicros - FieldEncoder.epochMicros)
            }
            parameters.append(.binary(out.bytes, oid: PostgresTypes.arrayOID(.timestamptz)))
        }
        if plan.hasSource {
            let source = Array(sourceName.utf8).filter { $0 != 0 }
            var out = BinaryBuffer(capacity: rows * (4 + source.count) + 20)
            header(&out, kind: .string, rows: rows)
            for _ in 0..<rows {
                out.int32(Int32(source.count))
                out.bytes.append(contentsOf: source)
            }
            parameters.append(.binary(out.bytes, oid: PostgresTypes.arrayOID(.string)))
        }
        return (parameters, stripped)
    }

    /// The header of a one-dimensional binary array of `rows` elements of `kind`, without nulls.
    static func header(_ out: inout BinaryBuffer, kind: TypeKind, plainJSON: Bool = false, rows: Int) {
        out.int32(1)
        out.int32(1)
        out.int32(Int32(bitPattern: PostgresTypes.oid(kind, plainJSON: plainJSON)))
        out.int32(Int32(rows))
        out.int32(1)
    }
}
