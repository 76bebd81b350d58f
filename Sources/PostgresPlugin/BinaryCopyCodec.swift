public import SluiceWire

/// PostgreSQL's binary COPY as this plugin writes it (the destination's encoder) and reads it
/// (the source's decoder), without a server: `sluice-bench copy` times both in one process,
/// where the pipeline benchmark's per-process CPU moves with everything else on the machine.
public enum BinaryCopyCodec {
    /// Why batches could not be encoded or a COPY stream decoded.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The COPY stream (header, rows, trailer) the destination sends for `batches` of `schema`
    /// into a table of its own making (append mode), handed to `chunk` in chunks as a flush cuts
    /// them; with `metadataColumns`, each row also carries `_sluice_synced_at` and `_sluice_source`.
    public static func encode(_ batches: [RecordBatch], schema: StreamSchema, metadataColumns: Bool,
                              chunk: ([UInt8]) -> Void) throws(Failure) {
        let name = schema.stream.name
        let columns = schema.columns.map {
            WriteColumn(name: $0.name, type: $0.type, targetType: PostgresTypes.columnType(for: $0), encodedType: PostgresTypes.encodedType(for: $0))
        }
        let plan = WritePlan(stream: schema.stream, schema: schema, mode: .append, key: schema.primaryKey, schemaName: "public", table: name,
                             writeTable: name, columns: columns, hasSyncedAt: metadataColumns, raw: false, hasSource: metadataColumns,
                             staging: "stage")
        var encoder = CopyEncoder(plan: plan, staging: false, syncedAtMicros: 1_700_000_000_000_000, sourceName: "sluice-bench",
                                  failOnNul: false, capacity: Flush.chunkBytes * 2)
        var sequence: Int64 = 0
        encoder.appendHeader()
        for batch in batches {
            do throws(RowError) {
                try encoder.append(batch, sequence: &sequence)
            } catch {
                throw Failure(description: "column \(error.column), row \(error.row + 1) of its batch: \(error.reason)")
            }
            if encoder.fields.out.bytes.count >= Flush.chunkBytes { chunk(encoder.take()) }
        }
        encoder.appendTrailer()
        chunk(encoder.take())
    }

    /// The batches the source reads from `chunks`, a COPY stream of a table whose columns have
    /// the types the destination gives `schema`'s columns, handed to `batch` as a Read cuts them
    /// at `batchSize` rows (libpq's handing over of the rows is not part of it).
    public static func decode(_ chunks: [[UInt8]], schema: StreamSchema, batchSize: Int, batch: (RecordBatch) -> Void) throws(Failure) {
        var types: [UInt32: PgType] = [:]
        let oids = schema.columns.map { column in
            let element = PostgresTypes.oid(column.type.kind == .list ? column.type.elementKind : column.type.kind)
            types[element] = PgType(oid: element, name: "", typtype: "b", baseType: 0, element: 0, category: "", typmod: -1)
            guard column.type.kind == .list else { return element }
            let array = PostgresTypes.arrayOID(column.type.elementKind)
            types[array] = PgType(oid: array, name: "", typtype: "b", baseType: 0, element: element, category: "A", typmod: -1)
            return array
        }
        let mapper = TypeMapper(types: types)
        let decoder = CopyBatchDecoder(decodings: oids.map { mapper.plan(oid: $0, typmod: -1).decoding }, extraFields: 0, keyFields: [],
                                       maxFrameSize: Int(Hello.defaultMaxFrameSize))
        do throws(CopyFormatError) {
            for chunk in chunks {
                var position = 0
                while position < chunk.count && !decoder.ended {
                    position = try decoder.decode(chunk, from: position, maxRows: batchSize, maxBytes: .max)
                    if decoder.rows >= batchSize || decoder.full { batch(decoder.takeBatch(stream: schema.stream)) }
                }
            }
        } catch {
            throw Failure(description: "row \(error.row.map { String($0 + 1) } ?? "?") of its batch, field \(error.field.map(String.init) ?? "?"): \(error.message)")
        }
        if decoder.rows > 0 { batch(decoder.takeBatch(stream: schema.stream)) }
    }
}
