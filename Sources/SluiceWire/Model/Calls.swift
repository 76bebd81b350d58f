/// The plugin's configuration schema.
public struct SpecResponse: Sendable, Hashable {
    /// A JSON Schema document; secret properties carry `"secret": true`.
    public var configSchemaJSON: String
    public var documentation: String

    public init(configSchemaJSON: String, documentation: String = "") {
        self.configSchemaJSON = configSchemaJSON
        self.documentation = documentation
    }
}

/// Asks a plugin to check a configuration.
public struct CheckRequest: Sendable, Hashable {
    public var configJSON: String
    /// ``Role/unspecified`` checks every role the plugin has.
    public var role: Role

    public init(configJSON: String, role: Role = .unspecified) {
        self.configJSON = configJSON
        self.role = role
    }
}

/// Lists, or releases, what a plugin keeps on its system between calls for a configuration.
public struct ResourcesRequest: Sendable, Hashable {
    public var configJSON: String
    /// ``Role/unspecified``: every role the plugin has.
    public var role: Role
    /// The pipeline whose committed states a destination lists or releases; empty: none.
    public var pipelineID: String
    /// Release each resource the plugin can, then list them all.
    public var release: Bool

    public init(configJSON: String, role: Role = .unspecified, pipelineID: String = "", release: Bool = false) {
        self.configJSON = configJSON
        self.role = role
        self.pipelineID = pipelineID
        self.release = release
    }
}

/// One thing a plugin keeps on its system (a replication slot, committed states).
public struct Resource: Sendable, Hashable {
    /// Stable kind, such as `replication_slot`.
    public var kind: String
    public var name: String
    /// Its condition for a person.
    public var detail: String
    /// Released by this call.
    public var released: Bool
    /// Bytes of the system's storage it holds back; 0 when none.
    public var lagBytes: UInt64

    public init(kind: String, name: String, detail: String, released: Bool = false, lagBytes: UInt64 = 0) {
        self.kind = kind
        self.name = name
        self.detail = detail
        self.released = released
        self.lagBytes = lagBytes
    }
}

/// The answer to a ``ResourcesRequest``.
public struct ResourcesResponse: Sendable, Hashable {
    public var resources: [Resource]
    public init(resources: [Resource]) { self.resources = resources }
}

/// One named check and its outcome.
public struct CheckResult: Sendable, Hashable {
    public var name: String
    public var passed: Bool
    /// `OK`, or a stable failure code such as `AUTH_FAILED`.
    public var code: String
    public var message: String

    public init(name: String, passed: Bool, code: String, message: String) {
        self.name = name
        self.passed = passed
        self.code = code
        self.message = message
    }
}

/// The answer to a ``CheckRequest``.
public struct CheckResponse: Sendable, Hashable {
    public var passed: Bool
    public var checks: [CheckResult]

    public init(checks: [CheckResult]) {
        self.passed = checks.allSatisfy(\.passed)
        self.checks = checks
    }

    public init(passed: Bool, checks: [CheckResult]) {
        self.passed = passed
        self.checks = checks
    }
}

/// Asks a source for its catalog.
public struct DiscoverRequest: Sendable, Hashable {
    public var configJSON: String
    public init(configJSON: String) { self.configJSON = configJSON }
}

/// A set of columns with a uniqueness constraint.
public struct UniqueKey: Sendable, Hashable {
    public var name: String
    public var columns: [String]
    public init(name: String, columns: [String]) {
        self.name = name
        self.columns = columns
    }
}

/// A stream a source can read.
public struct StreamDescriptor: Sendable, Hashable {
    public var schema: StreamSchema
    /// `table`, `view`, `materialized_view`, `partitioned_table` or `foreign_table`.
    public var kind: String
    public var uniqueKeys: [UniqueKey]
    public var cursorCandidates: [String]
    public var syncModes: [SyncMode]
    /// -1 when unknown.
    public var estimatedRows: Int64
    public var estimatedBytes: Int64
    public var readable: Bool
    /// How to make an unreadable stream readable (a GRANT statement).
    public var remedy: String

    public init(schema: StreamSchema, kind: String = "table", uniqueKeys: [UniqueKey] = [], cursorCandidates: [String] = [],
                syncModes: [SyncMode] = [.fullRefresh], estimatedRows: Int64 = -1, estimatedBytes: Int64 = -1,
                readable: Bool = true, remedy: String = "") {
        self.schema = schema
        self.kind = kind
        self.uniqueKeys = uniqueKeys
        self.cursorCandidates = cursorCandidates
        self.syncModes = syncModes
        self.estimatedRows = estimatedRows
        self.estimatedBytes = estimatedBytes
        self.readable = readable
        self.remedy = remedy
    }
}

/// The streams a source offers.
public struct Catalog: Sendable, Hashable {
    public var streams: [StreamDescriptor]
    public init(streams: [StreamDescriptor]) { self.streams = streams }
}

/// One stream chosen for a Read or a Write.
public struct ConfiguredStream: Sendable, Hashable {
    public var schema: StreamSchema
    /// Read: columns to read in this order; empty means all.
    public var selectedColumns: [String]
    public var syncMode: SyncMode
    public var cursorField: String
    /// Read: a trusted SQL boolean condition.
    public var filter: String
    /// Read: at most this many rows; 0 means no limit.
    public var limit: UInt64
    public var writeMode: WriteMode
    /// Write: the key when it is not the schema's primary key.
    public var keyColumns: [String]
    /// Read, feature ``Feature/postgresRows``: the source may send this stream's rows as
    /// PostgreSQL binary COPY tuples (``RecordBatch/postgresRows``, PROTOCOL.md §5.12).
    public var postgresRows: Bool

    public init(schema: StreamSchema, selectedColumns: [String] = [], syncMode: SyncMode = .fullRefresh, cursorField: String = "",
                filter: String = "", limit: UInt64 = 0, writeMode: WriteMode = .unspecified, keyColumns: [String] = [],
                postgresRows: Bool = false) {
        self.schema = schema
        self.selectedColumns = selectedColumns
        self.syncMode = syncMode
        self.cursorField = cursorField
        self.filter = filter
        self.limit = limit
        self.writeMode = writeMode
        self.keyColumns = keyColumns
        self.postgresRows = postgresRows
    }
}

/// The streams chosen for a call.
public struct ConfiguredCatalog: Sendable, Hashable {
    public var streams: [ConfiguredStream]
    public init(streams: [ConfiguredStream]) { self.streams = streams }
}

/// An opaque checkpoint, emitted by sources and acknowledged by destinations.
public struct State: Sendable, Hashable {
    /// Write: a host-chosen id echoed in ``StateAck``. Read: a sequence number.
    public var id: UInt64
    /// `nil` for a global state.
    public var stream: StreamID?
    public var data: [UInt8]
    /// Read, on a stream's state only: the stream's last state of the Read; its rows all came
    /// before it and its StreamStatus COMPLETE follows (PROTOCOL.md §4.4 rule 3).
    public var streamComplete: Bool

    public init(id: UInt64, stream: StreamID?, data: [UInt8], streamComplete: Bool = false) {
        self.id = id
        self.stream = stream
        self.data = data
        self.streamComplete = streamComplete
    }
}

/// The host's word to a source during a Read (PROTOCOL.md §8.2): the source's ``State`` with
/// `stateID` (its Read sequence number), and every state sent before it, is committed by every
/// destination. Sent only to a source announcing ``Feature/readAcks``.
public struct ReadAck: Sendable, Hashable {
    public var stateID: UInt64
    public init(stateID: UInt64) { self.stateID = stateID }
}

/// Starts a Read.
public struct ReadRequest: Sendable, Hashable {
    public var configJSON: String
    public var catalog: ConfiguredCatalog
    public var states: [State]

    public init(configJSON: String, catalog: ConfiguredCatalog, states: [State] = []) {
        self.configJSON = configJSON
        self.catalog = catalog
        self.states = states
    }
}

/// Starts a Write.
public struct WriteRequest: Sendable, Hashable {
    public var configJSON: String
    public var catalog: ConfiguredCatalog
    public var sourceName: String
    /// The pipeline writing: a destination with ``Feature/committedStates`` stores each state it
    /// acknowledges under this id, with the rows it covers, and reports them in
    /// ``CommittedStates`` first. Empty: no states are stored.
    public var pipelineID: String

    public init(configJSON: String, catalog: ConfiguredCatalog, sourceName: String = "", pipelineID: String = "") {
        self.configJSON = configJSON
        self.catalog = catalog
        self.sourceName = sourceName
        self.pipelineID = pipelineID
    }
}

/// Asks a destination what a Write would do to its tables, without running it.
public struct PlanWriteRequest: Sendable, Hashable {
    /// The Write that would run.
    public var write: WriteRequest
    public init(write: WriteRequest) { self.write = write }
}

/// Where one stream of a planned Write would land, and what would change.
public struct TablePlan: Sendable, Hashable {
    /// What the Write would do to a stream's table.
    public enum Action: String, Sendable, Hashable, CaseIterable {
        case create, recreate, migrate, keep, refuse
        /// Replace: the rows go to a new table that takes the table's place when the Write ends.
        case replace
    }

    public var stream: StreamID
    /// The table, as the destination names it.
    public var target: String
    /// ``Action`` by its raw value (a newer destination may send another).
    public var action: String
    /// The DDL the Write would run for it, in order.
    public var statements: [String]
    /// The changes, or why the Write would be refused.
    public var detail: String

    public init(stream: StreamID, target: String, action: String, statements: [String] = [], detail: String = "") {
        self.stream = stream
        self.target = target
        self.action = action
        self.statements = statements
        self.detail = detail
    }
}

/// The answer to a ``PlanWriteRequest``.
public struct PlanWriteResponse: Sendable, Hashable {
    public var tables: [TablePlan]
    public init(tables: [TablePlan]) { self.tables = tables }
}

/// What a destination committed for a Write's pipeline: the first message of a Write with a
/// `pipelineID`, from a destination with ``Feature/committedStates``.
public struct CommittedStates: Sendable, Hashable {
    /// The last state committed per stream (and the global one).
    public var states: [State]
    /// Streams whose table this Write created: they hold nothing, read them from the beginning.
    public var freshStreams: [StreamID]
    /// Feature ``Feature/postgresRows``: the streams whose rows this destination takes as
    /// PostgreSQL binary COPY tuples (PROTOCOL.md §5.12).
    public var postgresRowsStreams: [StreamID]

    public init(states: [State], freshStreams: [StreamID] = [], postgresRowsStreams: [StreamID] = []) {
        self.states = states
        self.freshStreams = freshStreams
        self.postgresRowsStreams = postgresRowsStreams
    }
}

/// A destination's acknowledgement that the host's ``State`` with `id` is committed.
public struct StateAck: Sendable, Hashable {
    public var id: UInt64
    public var stream: StreamID?
    public init(id: UInt64, stream: StreamID?) {
        self.id = id
        self.stream = stream
    }
}
