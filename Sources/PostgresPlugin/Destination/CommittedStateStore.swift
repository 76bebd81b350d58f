import Foundation
import PostgresClient
import SluiceWire

/// The `_sluice_state` table of the destination schema: the last state committed for each
/// (pipeline, stream), written in the same transaction as the rows it covers, so a resumed
/// pipeline starts exactly after what is committed (PROTOCOL.md §8.1).
///
/// A global state (no stream) is kept under an empty stream name. `table_schema` and
/// `table_name` are the stream's table (`table_schema` is NULL in rows written before tables
/// could land outside this schema, meaning this schema): when that table is created (first run, dropped by a user, recreated by a forced
/// migration) every state recorded for it is forgotten in the same transaction, so its stream
/// is read again from the beginning instead of resuming past rows the table no longer holds.
struct CommittedStateStore: Sendable {
    static let tableName = "_sluice_state"

    let schemaName: String
    let pipelineID: String

    private var qualified: String { SQL.quoteQualified(schema: schemaName, name: Self.tableName) }

    /// Creates the table (and the schema) when missing. Both are looked up first: `CREATE …
    /// IF NOT EXISTS` asks for CREATE on the schema (or database) even when the object exists,
    /// which a role that only writes into a table made for it need not have.
    func prepare(on connection: PostgresConnection) async throws {
        try await TableManager.createSchemaIfMissing(schemaName, on: connection)
        if try await !TableManager.tableExists(qualified, on: connection) { try await create(on: connection) }
        // A table made by an earlier version lacks table_schema: added once (looked up first,
        // because ALTER TABLE would wait for every open transaction holding a state row).
        let hasColumn = try await connection.execute(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'table_schema' AND NOT attisdropped",
            [.text(qualified)])
        if hasColumn.rows.first?.first == "0" {
            _ = try await connection.execute("ALTER TABLE \(qualified) ADD COLUMN IF NOT EXISTS table_schema text")
        }
    }

    private func create(on connection: PostgresConnection) async throws {
        _ = try await connection.execute("""
            CREATE TABLE IF NOT EXISTS \(qualified) (
              pipeline_id text NOT NULL,
              stream_namespace text NOT NULL,
              stream_name text NOT NULL,
              table_name text NOT NULL,
              table_schema text,
              state_id numeric(20, 0) NOT NULL,
              state bytea NOT NULL,
              sync_started_at timestamp with time zone,
              committed_at timestamp with time zone NOT NULL DEFAULT now(),
              PRIMARY KEY (pipeline_id, stream_namespace, stream_name))
            """)
    }

    /// A state as committed: as the host sent it, and the start of the sync it belongs to while
    /// that sync has not finished (mirror's cut-off; nil otherwise).
    struct Committed {
        var state: State
        var syncStartedMicros: Int64?
    }

    /// The states committed for `streams` (and the global one).
    func load(_ streams: [StreamID], on connection: PostgresConnection) async throws -> [Committed] {
        let result = try await connection.execute("""
            SELECT stream_namespace, stream_name, state_id::text, encode(state, 'base64'),
                   (extract(epoch FROM sync_started_at) * 1000000)::bigint
            FROM \(qualified) WHERE pipeline_id = $1 ORDER BY state_id
            """, [.text(pipelineID)])
        let wanted = Set(streams)
        return result.rows.compactMap { row in
            guard row.count == 5, let namespace = row[0], let name = row[1], let id = row[2].flatMap({ UInt64($0) }),
                  let data = row[3].flatMap({ Data(base64Encoded: $0, options: .ignoreUnknownCharacters) }) else { return nil }
            let stream = name.isEmpty ? nil : StreamID(namespace: namespace, name: name)
            if let stream, !wanted.contains(stream) { return nil }
            return Committed(state: State(id: id, stream: stream, data: [UInt8](data)), syncStartedMicros: row[4].flatMap { Int64($0) })
        }
    }

    /// Stores `state` as committed for its stream (whose table is `table`; nil for a global
    /// state), in the transaction open on `connection` if there is one. `syncStartedMicros`: the
    /// start of the sync the state belongs to (mirror's cut-off), kept until ``finishSync(_:on:)``.
    func store(_ state: State, table: TableTarget?, syncStartedMicros: Int64?, on connection: PostgresConnection) async throws {
        let started = syncStartedMicros.map(Self.timestamp) ?? .null
        _ = try await connection.execute("""
            INSERT INTO \(qualified) (pipeline_id, stream_namespace, stream_name, table_name, table_schema, state_id, state, sync_started_at, committed_at)
            VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8, now())
            ON CONFLICT (pipeline_id, stream_namespace, stream_name) DO UPDATE SET
              table_name = EXCLUDED.table_name, table_schema = EXCLUDED.table_schema, state_id = EXCLUDED.state_id,
              state = EXCLUDED.state, sync_started_at = EXCLUDED.sync_started_at, committed_at = now()
            """, [.text(pipelineID), .text(state.stream?.namespace ?? ""), .text(state.stream?.name ?? ""), .text(table?.table ?? ""),
                  .text(table?.schema ?? schemaName), .text(String(state.id)), .binary(state.data, oid: 17), started])
    }

    /// Marks the sync of `stream` finished (mirror deleted what it did not write): the next
    /// Write starts a new one.
    func finishSync(_ stream: StreamID, on connection: PostgresConnection) async throws {
        _ = try await connection.execute(
            "UPDATE \(qualified) SET sync_started_at = NULL WHERE pipeline_id = $1 AND stream_namespace = $2 AND stream_name = $3",
            [.text(pipelineID), .text(stream.namespace), .text(stream.name)])
    }

    /// Forgets every pipeline's states for the table `tableSchema.table`, in the transaction
    /// open on `connection`: the table is being created, so it holds none of the rows they
    /// cover. `stateSchema` is where `_sluice_state` is.
    static func forget(table: String, tableSchema: String, stateSchema: String, on connection: PostgresConnection) async throws {
        let qualified = SQL.quoteQualified(schema: stateSchema, name: tableName)
        guard try await TableManager.tableExists(qualified, on: connection) else { return }
        _ = try await connection.execute("DELETE FROM \(qualified) WHERE table_name = $1 AND coalesce(table_schema, $3) = $2",
                                         [.text(table), .text(tableSchema), .text(stateSchema)])
    }

    /// `micros` (since 1970, UTC) as a binary timestamptz parameter.
    static func timestamp(_ micros: Int64) -> PostgresValue {
        var buffer = BinaryBuffer()
        buffer.int64(micros - FieldEncoder.epochMicros)
        return .binary(buffer.bytes, oid: 1184)
    }
}
