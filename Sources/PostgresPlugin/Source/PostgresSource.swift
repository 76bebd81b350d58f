import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire

/// The source role: Discover lists readable relations; Read streams them with binary COPY
/// inside `REPEATABLE READ READ ONLY` transactions.
struct PostgresSource {
    let config: PluginConfig
    let context: CallContext
    /// Where Discover leaves its connection and Read looks for one; nil to open and close each.
    var handOff: HandOff? = nil

    /// The connection kept between a Discover and a Read of the same configuration.
    struct HandOff: Sendable {
        var connections: DiscoverConnection
        var configuration: JSONValue
    }

    /// Every selected relation, readable or not (with the GRANT that would fix it).
    func discover() async throws -> Catalog {
        let connection = try await connect()
        do {
            let tables = try await CatalogReader(connection: connection, settings: config.source).tables()
            if let handOff { handOff.connections.keep(connection, for: handOff.configuration) } else { connection.close() }
            return Catalog(streams: tables.map(\.descriptor))
        } catch {
            connection.close()
            throw PluginErrors.map(error, stream: nil, otherCode: "READ_FAILED")
        }
    }

    /// Reads every configured stream; with `snapshot: consistent` all streams share one transaction.
    func read(_ request: ReadRequest, output: ReadOutput) async throws -> Summary {
        if request.catalog.streams.contains(where: { $0.syncMode == .cdc }) {
            guard request.catalog.streams.allSatisfy({ $0.syncMode == .cdc }) else {
                throw PluginError(category: .config, code: "MIXED_SYNC_MODES",
                                  message: "a Read with sync mode cdc streams only cdc streams (they share one replication slot); read the others in a separate Read")
            }
            return try await CDCReader(source: self, request: request, output: output).run()
        }
        let started = Date()
        let connection = try await readConnection()
        defer { connection.close() }
        let plans: [StreamPlan]
        do {
            plans = try await makePlans(request, connection: connection)
            for plan in plans where !plan.filter.isEmpty {
                try await checkFilter(plan, connection: connection)
            }
        } catch {
            throw PluginErrors.map(error, stream: nil, otherCode: "READ_FAILED")
        }
        let consistent = config.source.snapshot == .consistent
        let states = StateCounter()
        var workers: [PostgresConnection] = []
        defer { for worker in workers { worker.close() } }
        // Workers read streams side by side (one snapshot) or a large stream's ranges.
        if config.batch.maxConnections > 1, (consistent && plans.count > 1) || plans.contains(where: readsRanges) {
            for _ in 1 ..< config.batch.maxConnections { workers.append(try await connect()) }
        }
        // Incremental reads that record their snapshot list the transactions in progress first.
        func listing(_ plans: [StreamPlan]) async throws -> ReadSnapshot.Listing? {
            guard plans.contains(where: { $0.tracksVersions && $0.resumeRun == nil }) else { return nil }
            return try await ReadSnapshot.list(connection, logger: context.logger)
        }
        if consistent {
            let shared = try await listing(plans)
            try await begin(connection)
            if !workers.isEmpty {
                let snapshot = try await StreamReader.exportSnapshot(connection)
                for worker in workers { try await StreamReader.joinSnapshot(worker, snapshot) }
                context.logger.info("reading \(plans.count) streams on \(1 + workers.count) connections in one snapshot")
            }
            let readers = plans.map { plan in
                StreamReader(plan: plan, batch: config.batch, checkpoints: config.source.checkpoints,
                             splitTables: config.source.splitTables, output: output, states: states,
                             logger: context.logger, listing: shared)
            }
            let summaries = try await ConcurrentRead(readers: readers, connections: [connection] + workers).run()
            for worker in workers { _ = try? await worker.execute("COMMIT") }
            _ = try? await connection.execute("COMMIT")
            return Summary(streams: summaries, durationMicros: UInt64(max(0, Date().timeIntervalSince(started)) * 1_000_000))
        }
        var summaries: [StreamSummary] = []
        for plan in plans {
            try context.checkCancellation()
            do {
                let listed = try await listing([plan])
                try await begin(connection)
                let reader = StreamReader(plan: plan, batch: config.batch, checkpoints: config.source.checkpoints,
                                          splitTables: config.source.splitTables, output: output, states: states,
                                          logger: context.logger, listing: listed)
                summaries.append(try await reader.run(main: connection, workers: workers))
                _ = try await connection.execute("COMMIT")
            } catch {
                let mapped = PluginErrors.map(error, stream: plan.stream, otherCode: "READ_FAILED")
                try? await output.status(StreamStatus(stream: plan.stream, status: .incomplete, message: PluginErrors.incompleteRead(mapped)))
                throw mapped
            }
        }
        return Summary(streams: summaries, durationMicros: UInt64(max(0, Date().timeIntervalSince(started)) * 1_000_000))
    }

    /// Whether `plan` may be read in several ranges at once: a full refresh by key or block
    /// ranges, split (`split_tables`) or resuming the ranges of an interrupted read.
    func readsRanges(_ plan: StreamPlan) -> Bool {
        guard plan.byCtid || plan.byKey else { return false }
        return config.source.splitTables || (plan.resumeRanges?.count ?? 0) > 1 || (plan.resumeKeyRanges?.count ?? 0) > 1
    }

    /// Discover's connection when it left one for this configuration, else a new one.
    private func readConnection() async throws -> PostgresConnection {
        if let handOff, let kept = await handOff.connections.take(for: handOff.configuration) { return kept }
        return try await connect()
    }

    func connect() async throws -> PostgresConnection {
        do {
            // The source's name in pg_stat_activity, unless the connection string sets another.
            var settings = try await config.connection.authenticatedConfig()
            settings.applicationName = "sluice-postgres-source"
            let connection = try await PostgresConnection.connect(settings)
            _ = try await connection.executeScript("""
                SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';
                SET extra_float_digits = 3; SET max_parallel_workers_per_gather = 0; SET synchronize_seqscans = off;
                \(SessionSettings.keepTransactionsOpen(serverVersion: connection.serverVersionNumber))
                """)
            return connection
        } catch {
            throw PluginErrors.map(error, stream: nil, otherCode: "READ_FAILED")
        }
    }

    private func begin(_ connection: PostgresConnection) async throws {
        _ = try await connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    }

    /// Resolves each configured stream against the catalogs.
    func makePlans(_ request: ReadRequest, connection: PostgresConnection) async throws -> [StreamPlan] {
        var settings = config.source
        let namespaces = request.catalog.streams.map { $0.schema.stream.namespace.isEmpty ? config.connection.schema : $0.schema.stream.namespace }
        settings.schemas = Array(Set(namespaces)).sorted()
        settings.tables = .all
        let tables = try await CatalogReader(connection: connection, settings: settings).tables()
        var candidates: [(configured: ConfiguredStream, table: SourceTable, state: ReadState?)] = []
        for configured in request.catalog.streams {
            var id = configured.schema.stream
            if id.namespace.isEmpty { id.namespace = config.connection.schema }
            guard let table = tables.first(where: { $0.schema == id.namespace && $0.name == id.name }) else {
                throw PluginError(category: .config, code: "UNKNOWN_STREAM", message: "no readable relation \(id)", stream: configured.schema.stream)
            }
            let saved = request.states.last { $0.stream == configured.schema.stream || $0.stream == id }
            var state = saved.flatMap { ReadState(data: $0.data) }
            if saved != nil && state == nil {
                context.logger.warning("stream \(id): ignoring a state this source did not write")
            }
            for snapshot in [state?.snapshot, state?.run?.snapshot].compactMap({ $0.flatMap(SnapshotText.init) })
                where !(try await ReadSnapshot.usable(snapshot, connection: connection)) {
                context.logger.warning("stream \(id): the state's snapshot \(snapshot.text) is from the future or over 2 billion transactions old; reading the stream from the beginning")
                state = nil
                break
            }
            candidates.append((configured, table, state))
        }
        let small = try await smallTables(candidates.filter { StreamPlan.readsInOnePass(table: $0.table, configured: $0.configured, state: $0.state) }
            .map(\.table), connection: connection)
        var plans: [StreamPlan] = []
        for (configured, table, state) in candidates {
            let id = table.stream
            let onePass = small.contains(table.oid)
            if onePass { context.logger.info("stream \(id): under resumable_read_min_bytes, read in one pass (an interrupted read reads it again)") }
            let plan = try StreamPlan(table: table, configured: configured, state: state, onePass: onePass)
            if plan.incremental && !plan.tracksVersions {
                context.logger.warning("stream \(id): a \(table.kindName) has no row versions to compare with the last read's snapshot; a row committed after a read with a cursor below the saved one is never read (read the underlying table instead)")
            }
            if plan.byCtid && !table.primaryKey.isEmpty {
                context.logger.warning("stream \(id): resuming an interrupted read by ctid ranges (a state of an older version); the next full refresh reads by primary key")
            }
            plans.append(plan)
        }
        return plans
    }

    /// The oids of `tables` smaller than `resumable_read_min_bytes` (`pg_table_size`: heap,
    /// TOAST and their maps, as the files are now, whatever the statistics say).
    private func smallTables(_ tables: [SourceTable], connection: PostgresConnection) async throws -> Set<UInt32> {
        let limit = config.source.resumableReadMinBytes
        guard limit > 0, !tables.isEmpty else { return [] }
        let oids = "{" + tables.map { String($0.oid) }.joined(separator: ",") + "}"
        let rows = try await connection.execute("SELECT o::text, pg_table_size(o) FROM unnest($1::oid[]) AS o", [.text(oids)]).rows
        return Set(rows.compactMap { row in
            guard let oid = row[0].flatMap(UInt32.init), let size = row[1].flatMap(Int.init), size < limit else { return nil }
            return oid
        })
    }

    /// Prepares `SELECT … WHERE (filter)` so a mistake fails before anything is read.
    private func checkFilter(_ plan: StreamPlan, connection: PostgresConnection) async throws {
        do throws(PostgresError) {
            _ = try await connection.execute(plan.filterCheckSQL)
            _ = try await connection.execute("DEALLOCATE sluice_filter_check")
        } catch {
            guard error.kind == .server else { throw error }
            throw PluginError(category: .config, code: "INVALID_FILTER",
                              message: "stream \(plan.stream): the filter is not valid: \(error.message)",
                              detail: error.sqlState.map { "SQLSTATE \($0)" } ?? "", stream: plan.stream)
        }
    }
}
