import PostgresClient
import SluiceWire

/// How one stream's embeddings are kept: a `<table>_embeddings` table with the row's key, its
/// metadata columns, and per chunk of its text the chunk number, the text and its
/// `vector(dimensions)`. A flush replaces the chunks of every key it touches, in its own
/// transaction, from the rows staged for it (so the last row of a key wins, deletes and
/// update-only's unmatched rows leave no chunks).
struct EmbeddingPlan: Sendable {
    static let chunkColumn = "_sluice_chunk"
    static let textColumn = "_sluice_text"
    static let vectorColumn = "_sluice_embedding"

    /// One chunk of one staged row (`sequence` is the row's `_sluice_seq`).
    struct Chunk: Sendable {
        var sequence: Int64
        var index: Int32
        var text: String
    }

    var schemaName: String
    /// The embeddings table readers see.
    var liveTable: String
    /// Where flushes write: `liveTable`, or with `replace` its replacement, swapped in with the
    /// stream's table.
    var table: String
    /// Positions (in the stream's columns) of the columns whose text is embedded.
    var embedColumns: [Int]
    /// PostgreSQL names of the columns copied into every chunk's row.
    var metadataColumns: [String]
    var dimensions: Int
    var splitter: TextSplitter
    var client: EmbeddingClient

    var qualified: String { SQL.quoteQualified(schema: schemaName, name: table) }

    /// The table's definition: key and metadata columns with the destination table's types.
    func createTable(_ plan: WritePlan) -> String {
        let copied = plan.key + metadataColumns.filter { !plan.key.contains($0) }
        var definitions = copied.compactMap { name in
            plan.columns.first { $0.name.isExactly(name) }.map { "\(SQL.quoteIdentifier(name)) \($0.targetType)" + (plan.key.containsExactly(name) ? " NOT NULL" : "") }
        }
        definitions += [
            "\(SQL.quoteIdentifier(Self.chunkColumn)) integer NOT NULL",
            "\(SQL.quoteIdentifier(Self.textColumn)) text NOT NULL",
            "\(SQL.quoteIdentifier(Self.vectorColumn)) vector(\(dimensions)) NOT NULL",
            "\(SQL.quoteIdentifier(WritePlan.syncedAtColumn)) timestamp with time zone",
            "PRIMARY KEY (\((plan.key + [Self.chunkColumn]).map(SQL.quoteIdentifier).joined(separator: ", ")))",
        ]
        return "CREATE TABLE IF NOT EXISTS \(qualified) (\(definitions.joined(separator: ", ")))"
    }

    /// Deletes the chunks whose row is no longer in `plan`'s table (after mirror's stale-row deletion).
    func deleteOrphans(_ plan: WritePlan) -> String {
        let match = plan.key.map { "t.\(SQL.quoteIdentifier($0)) = e.\(SQL.quoteIdentifier($0))" }.joined(separator: " AND ")
        return "DELETE FROM \(qualified) e WHERE NOT EXISTS (SELECT 1 FROM \(plan.target) t WHERE \(match))"
    }

    /// The chunks of the rows of `batches` that are not deletes, numbered as staging numbers them.
    func chunks(_ batches: [RecordBatch]) -> [Chunk] {
        var chunks: [Chunk] = []
        var sequence: Int64 = 0
        for batch in batches {
            let vectors = embedColumns.map { VectorReader(batch.columns[$0]) }
            for row in 0..<batch.rowCount {
                defer { sequence += 1 }
                if !batch.operations.isEmpty, batch.operations[row] == RowOperation.delete.rawValue { continue }
                let parts = vectors.compactMap { vector -> String? in
                    guard vector.isValid(row) else { return nil }
                    let bytes = vector.data[Int(vector.offsets[row])..<Int(vector.offsets[row + 1])].filter { $0 != 0 }
                    return String(decoding: bytes, as: UTF8.self)
                }
                for (index, text) in splitter.split(parts.joined(separator: "\n")).enumerated() {
                    chunks.append(Chunk(sequence: sequence, index: Int32(index), text: text))
                }
            }
        }
        return chunks
    }

    /// Replaces the chunks of every key staged in `plan`'s staging table with `chunks`, on
    /// `connection` inside the flush's transaction: one embeddings request and one INSERT per
    /// `batch_size` chunks, so memory holds one request's vectors at a time.
    func write(_ chunks: [Chunk], plan: WritePlan, syncedAtMicros: Int64, on connection: PostgresConnection) async throws {
        let staged = plan.key.map { "\(plan.keyValue("s", $0)) AS \(SQL.quoteIdentifier($0))" }.joined(separator: ", ")
        let match = plan.key.map { "e.\(SQL.quoteIdentifier($0)) = k.\(SQL.quoteIdentifier($0))" }.joined(separator: " AND ")
        _ = try await connection.execute("DELETE FROM \(qualified) e USING (SELECT DISTINCT \(staged) FROM \(plan.quotedStaging) s) k WHERE \(match)")
        let copied = plan.key + metadataColumns.filter { !plan.key.contains($0) }
        let values = copied.map { name in
            plan.key.containsExactly(name) ? plan.keyValue("s", name) : "t.\(SQL.quoteIdentifier(name))"
        }
        let names = (copied + [Self.chunkColumn, Self.textColumn, Self.vectorColumn, WritePlan.syncedAtColumn]).map(SQL.quoteIdentifier)
        let sql = "INSERT INTO \(qualified) (\(names.joined(separator: ", "))) "
            + "SELECT \(values.joined(separator: ", ")), c.chunk, c.body, CAST(c.vec AS vector), $5 "
            + "FROM unnest($1::int8[], $2::int4[], $3::text[], $4::text[]) AS c(seq, chunk, body, vec) "
            + "JOIN (\(plan.lastPerKey)) s ON s.\(SQL.quoteIdentifier(WritePlan.sequenceColumn)) = c.seq "
            + "JOIN \(plan.target) t ON \(plan.keyMatch("t", "s")) "
            + "WHERE NOT s.\(SQL.quoteIdentifier(WritePlan.deleteColumn))"
        var syncedAt = BinaryBuffer()
        syncedAt.int64(syncedAtMicros - FieldEncoder.epochMicros)
        var start = 0
        while start < chunks.count {
            let group = chunks[start..<min(chunks.count, start + client.batchSize)]
            let vectors = try await client.embed(group.map(\.text))
            _ = try await connection.execute(sql, [
                Self.array(group.map(\.sequence), kind: .int64, width: 8) { $0.int64($1) },
                Self.array(group.map(\.index), kind: .int32, width: 4) { $0.int32($1) },
                Self.textArray(group.map(\.text)),
                Self.textArray(vectors.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }),
                .binary(syncedAt.bytes, oid: PostgresTypes.oid(.timestamptz)),
            ])
            start += group.count
        }
    }

    /// A one-dimensional binary array of fixed-width `values` of `kind`.
    private static func array<Element>(_ values: [Element], kind: TypeKind, width: Int32,
                                       _ write: (inout BinaryBuffer, Element) -> Void) -> PostgresValue {
        var out = BinaryBuffer(capacity: values.count * Int(4 + width) + 20)
        ArrayParameters.header(&out, kind: kind, rows: values.count)
        for value in values {
            out.int32(width)
            write(&out, value)
        }
        return .binary(out.bytes, oid: PostgresTypes.arrayOID(kind))
    }

    private static func textArray(_ texts: [String]) -> PostgresValue {
        var out = BinaryBuffer(capacity: texts.reduce(20) { $0 + $1.utf8.count + 4 })
        ArrayParameters.header(&out, kind: .string, rows: texts.count)
        for text in texts {
            out.int32(Int32(text.utf8.count))
            out.bytes.append(contentsOf: text.utf8)
        }
        return .binary(out.bytes, oid: PostgresTypes.arrayOID(.string))
    }
}
