extension ConnectionConfig {
    /// This configuration for a logical replication connection (`replication=database`): a
    /// walsender session bound to the database, which runs replication commands and plain SQL
    /// through the simple query protocol only.
    public var forLogicalReplication: ConnectionConfig {
        var config = self
        config.options["replication"] = "database"
        return config
    }
}

/// What `IDENTIFY_SYSTEM` reports.
public struct SystemIdentity: Sendable, Equatable {
    /// The cluster's system identifier.
    public let systemID: String
    /// The current timeline.
    public let timeline: Int
    /// The current WAL flush position.
    public let walPosition: LSN
    /// The connected database.
    public let database: String?
}

/// A logical replication slot just made by `CREATE_REPLICATION_SLOT`.
public struct CreatedSlot: Sendable, Equatable {
    /// The slot's name.
    public let name: String
    /// The first position from which the slot decodes changes: every transaction committing
    /// after it is streamed, none before.
    public let consistentPoint: LSN
    /// The exported snapshot (for `SET TRANSACTION SNAPSHOT`), valid until this connection runs
    /// its next command; nil unless asked for.
    public let snapshotName: String?
}

/// One read from a replication stream: the messages that had arrived, and whether the server
/// ended the stream.
public struct ReplicationBatch: Sendable {
    /// The messages, in order; empty when none arrived in time.
    public let messages: [ReplicationMessage]
    /// Whether the server ended the stream (the connection is out of replication mode then).
    public let ended: Bool
}

extension PostgresConnection {
    /// `text` as an SQL string literal (`PQescapeLiteral`), for statements on a replication
    /// connection, which takes no bound parameters.
    public func quoteLiteral(_ text: String) async throws(PostgresError) -> String {
        try await run { handle throws(PostgresError) in try handle.escapeLiteral(text) }
    }

    /// Runs `IDENTIFY_SYSTEM` (replication connections only).
    public func identifySystem() async throws(PostgresError) -> SystemIdentity {
        let result = try await executeScript("IDENTIFY_SYSTEM")
        guard result.rows.count == 1, let id = result[0, "systemid"], let timeline = result[0, "timeline"].flatMap({ Int($0) }),
              let position = result[0, "xlogpos"].flatMap(LSN.init) else {
            throw PostgresError(kind: .protocolViolation, message: "IDENTIFY_SYSTEM returned an unexpected result", secrets: [])
        }
        return SystemIdentity(systemID: id, timeline: timeline, walPosition: position, database: result[0, "dbname"])
    }

    /// Creates the logical slot `name` for the built-in `pgoutput` plugin
    /// (`CREATE_REPLICATION_SLOT … LOGICAL pgoutput`), exporting a snapshot when
    /// `exportSnapshot` is true (PostgreSQL 15+ syntax; 14 and older use `EXPORT_SNAPSHOT`).
    /// `name` is quoted as an identifier; slot names are lower-case letters, digits and `_`.
    public func createLogicalSlot(_ name: String, exportSnapshot: Bool) async throws(PostgresError) -> CreatedSlot {
        let snapshot: String
        if serverVersionNumber >= 150_000 {
            snapshot = exportSnapshot ? " (SNAPSHOT 'export')" : " (SNAPSHOT 'nothing')"
        } else {
            snapshot = exportSnapshot ? " EXPORT_SNAPSHOT" : " NOEXPORT_SNAPSHOT"
        }
        let result = try await executeScript("CREATE_REPLICATION_SLOT \(SQL.quoteIdentifier(name)) LOGICAL pgoutput" + snapshot)
        guard result.rows.count == 1, let slot = result[0, "slot_name"], let point = result[0, "consistent_point"].flatMap(LSN.init) else {
            throw PostgresError(kind: .protocolViolation, message: "CREATE_REPLICATION_SLOT returned an unexpected result", secrets: [])
        }
        return CreatedSlot(name: slot, consistentPoint: point, snapshotName: result[0, "snapshot_name"])
    }

    /// Starts streaming the logical slot `slot` from `start` (the server starts at the later
    /// of `start` and the slot's confirmed flush position) with the plugin `options`, quoted
    /// here as literals. The connection is in CopyBoth afterwards: read with
    /// ``receiveReplication(maxMessages:maxBytes:waitMilliseconds:)``, answer with
    /// ``sendStandbyStatus(_:)``, end with ``endReplication(waitMilliseconds:)`` or ``close()``.
    public func startLogicalReplication(slot: String, start: LSN, options: [(name: String, value: String)]) async throws(PostgresError) {
        try await run { handle throws(PostgresError) in
            var list: [String] = []
            for option in options { list.append(SQL.quoteIdentifier(option.name) + " " + (try handle.escapeLiteral(option.value))) }
            let suffix = list.isEmpty ? "" : " (" + list.joined(separator: ", ") + ")"
            try handle.beginCopyBoth("START_REPLICATION SLOT \(SQL.quoteIdentifier(slot)) LOGICAL \(start)" + suffix)
        }
    }

    /// Reads what the server has sent: waits up to `waitMilliseconds` for the first message,
    /// then takes whatever else is already buffered, up to `maxMessages` messages or about
    /// `maxBytes` bytes. An empty batch means nothing arrived in time, so a caller's loop can
    /// send status updates and notice cancellation between reads. A malformed message is a
    /// ``PostgresError/Kind/protocolViolation``.
    public func receiveReplication(maxMessages: Int = 4096, maxBytes: Int = 8 << 20,
                                   waitMilliseconds: Int = 500) async throws(PostgresError) -> ReplicationBatch {
        let (raw, ended) = try await run { handle throws(PostgresError) in
            try handle.receiveCopyBoth(maxMessages: max(1, maxMessages), maxBytes: max(1, maxBytes), waitMilliseconds: waitMilliseconds)
        }
        var messages: [ReplicationMessage] = []
        messages.reserveCapacity(raw.count)
        for bytes in raw {
            do {
                messages.append(try ReplicationMessage(decoding: bytes))
            } catch {
                throw PostgresError(kind: .protocolViolation, message: "malformed replication message: \(error)", secrets: [])
            }
        }
        return ReplicationBatch(messages: messages, ended: ended)
    }

    /// Sends a standby status update now, stamped with the current time.
    public func sendStandbyStatus(_ status: StandbyStatus) async throws(PostgresError) {
        let bytes = status.encoded(clockMicroseconds: StandbyStatus.nowMicroseconds())
        try await run { handle throws(PostgresError) in try handle.sendCopyBothMessage(bytes) }
    }

    /// Ends streaming from this side and waits up to `waitMilliseconds` for the server to end
    /// it too (data still arriving is dropped); the connection runs commands again afterwards.
    /// When the server does not end in time the connection is closed and this throws.
    public func endReplication(waitMilliseconds: Int = 10_000) async throws(PostgresError) {
        try await run { handle throws(PostgresError) in try handle.endCopyBoth(waitMilliseconds: waitMilliseconds) }
    }
}
