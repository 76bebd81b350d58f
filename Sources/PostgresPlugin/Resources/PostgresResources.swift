import PostgresClient
import SluiceSDK
import SluiceWire

/// What postgres-plugin keeps on the server between calls, for the Resources call (PROTOCOL.md
/// §4.7): as a source, the replication slot of change data capture (with the WAL it holds back)
/// and its publication; as a destination, the states the request's pipeline committed in
/// `_sluice_state`. Releasing drops the slot (unless a connection is using it) and forgets the
/// pipeline's states; the publication is listed but kept, since other consumers may use it.
struct PostgresResources {
    let config: PluginConfig
    let request: ResourcesRequest

    /// Resource kinds, as the response names them.
    enum Kind {
        static let slot = "replication_slot"
        static let publication = "publication"
        static let committedStates = "committed_states"
    }

    func run() async throws -> ResourcesResponse {
        let connection: PostgresConnection
        do {
            var settings = try await config.connection.authenticatedConfig()
            settings.applicationName = "sluice-postgres-resources"
            connection = try await PostgresConnection.connect(settings)
        } catch {
            throw PluginErrors.map(error, stream: nil, otherCode: "RESOURCES_FAILED")
        }
        defer { connection.close() }
        do {
            var resources: [Resource] = []
            if request.role != .destination { resources += try await sourceResources(connection) }
            if request.role != .source, !request.pipelineID.isEmpty { resources += try await committedStates(connection) }
            return ResourcesResponse(resources: resources)
        } catch {
            throw PluginErrors.map(error, stream: nil, otherCode: "RESOURCES_FAILED")
        }
    }

    /// The slot and publication the source's change data capture uses, when they exist.
    private func sourceResources(_ connection: PostgresConnection) async throws -> [Resource] {
        let database = try await connection.execute("SELECT current_database()").rows.first?.first ?? nil
        let slot = config.cdc.slotName(database: database ?? ""), publication = config.cdc.publicationName(database: database ?? "")
        var resources: [Resource] = []
        let row = try await connection.execute("""
            SELECT active::text, confirmed_flush_lsn::text, coalesce(wal_status, ''),
                   coalesce(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END,
                                            confirmed_flush_lsn), 0)::bigint
            FROM pg_replication_slots WHERE slot_name = $1 AND database = current_database()
            """, [.text(slot)]).rows.first
        if let row, row.count == 4 {
            let active = row[0] == "true", lag = UInt64(max(0, Int64(row[3] ?? "") ?? 0))
            var detail = "\(active ? "in use" : "not in use"), confirmed up to \(row[1] ?? "nothing yet")"
            if let status = row[2], !status.isEmpty { detail += ", WAL \(status)" }
            var released = false
            if request.release {
                if active {
                    detail += "; not dropped: a connection is streaming from it (stop the running pipeline first)"
                } else {
                    _ = try await connection.execute("SELECT pg_drop_replication_slot($1)", [.text(slot)])
                    detail += "; dropped: the next run takes a new snapshot"
                    released = true
                }
            }
            resources.append(Resource(kind: Kind.slot, name: slot, detail: detail, released: released, lagBytes: released ? 0 : lag))
        }
        let tables = try await connection.execute("""
            SELECT count(t.*) FROM pg_publication p LEFT JOIN pg_publication_tables t ON t.pubname = p.pubname WHERE p.pubname = $1 GROUP BY p.pubname
            """, [.text(publication)]).rows.first?.first ?? nil
        if let tables {
            resources.append(Resource(kind: Kind.publication, name: publication,
                                      detail: "publishes \(tables) table\(tables == "1" ? "" : "s")" + (request.release
                                          ? "; kept (other consumers may use it): DROP PUBLICATION \(SQL.quoteIdentifier(publication)) when nothing does" : "")))
        }
        return resources
    }

    /// The states the request's pipeline committed in the destination schema.
    private func committedStates(_ connection: PostgresConnection) async throws -> [Resource] {
        let table = SQL.quoteQualified(schema: config.connection.schema, name: CommittedStateStore.tableName)
        guard try await TableManager.tableExists(table, on: connection) else { return [] }
        let row = try await connection.execute("SELECT count(*), max(committed_at)::text FROM \(table) WHERE pipeline_id = $1",
                                               [.text(request.pipelineID)]).rows.first
        guard let count = row?.first.flatMap({ $0 }), count != "0" else { return [] }
        var detail = "\(count) states of the pipeline, the last committed at \((row?.count ?? 0) > 1 ? row?[1] ?? "" : "")"
        if request.release {
            _ = try await connection.execute("DELETE FROM \(table) WHERE pipeline_id = $1", [.text(request.pipelineID)])
            detail += "; forgotten: the next run reads every stream from the beginning"
        }
        return [Resource(kind: Kind.committedStates, name: "\(config.connection.schema).\(CommittedStateStore.tableName)", detail: detail,
                         released: request.release)]
    }
}
