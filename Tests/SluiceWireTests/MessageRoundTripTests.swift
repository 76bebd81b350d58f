import Testing
import SluiceWire

@Suite("Message round trips")
struct MessageRoundTripTests {
    static let schema = StreamSchema(
        stream: StreamID(namespace: "sales", name: "orders"),
        columns: [
            Column(name: "id", type: LogicalType(.int64), nullable: false, sourceType: "bigint"),
            Column(name: "amount", type: LogicalType(.decimal, precision: 12, scale: 2), sourceType: "numeric(12,2)"),
            Column(name: "note", type: LogicalType(.string, maxLength: 20), sourceType: "character varying(20)"),
            Column(name: "tags", type: .list(of: .string), sourceType: "text[]"),
            Column(name: "moods", type: .list(of: .string), sourceType: "sales.wrapped[]",
                   userType: .user(namespace: "sales", name: "wrapped", array: true), userTypes: [
                       UserType(namespace: "sales", name: "mood", kind: .enumeration, labels: ["sad", "it's ok", "ünï", ""]),
                       UserType(namespace: "sales", name: "posint", kind: .domain, base: TypeReference(builtin: "integer"), notNull: true,
                                checks: [DomainCheck(name: "positive", definition: "CHECK ((VALUE > 0))")]),
                       UserType(namespace: "sales", name: "wrapped", kind: .composite, fields: [
                           CompositeField(name: "m", type: .user(namespace: "sales", name: "mood", array: true)),
                           CompositeField(name: "n", type: .user(namespace: "sales", name: "posint")),
                           CompositeField(name: "at", type: TypeReference(builtin: "timestamp(3) without time zone")),
                       ]),
                   ]),
        ],
        primaryKey: ["id"]
    )

    static let configured = ConfiguredCatalog(streams: [
        ConfiguredStream(schema: schema, selectedColumns: ["id", "note"], syncMode: .incremental, cursorField: "id",
                         filter: "amount > 0", limit: 1000, writeMode: .upsert, keyColumns: ["id"]),
        ConfiguredStream(schema: StreamSchema(stream: StreamID(name: "empty"), columns: [])),
        ConfiguredStream(schema: StreamSchema(stream: StreamID(name: "rows"), columns: []), postgresRows: true),
    ])

    static var batch: RecordBatch {
        get throws {
            var batch = try RecordBatch(schema: schema, rows: [
                [.int64(1), .decimal("10.50"), .string("first"), .list([.string("a"), .null]), .list([.string("(,)")])],
                [.int64(2), .null, .string(""), .list([]), .null],
                [.int64(3), .decimal("-0.01"), .null, .null, .list([])],
            ])
            batch.operations = [0, 1, 0]
            return batch
        }
    }

    static var hostMessages: [HostMessage] {
        get throws {
            [
                .hello(Hello(minProtocolVersion: 1, maxProtocolVersion: 3, hostName: "plugin-host", hostVersion: "0.1.0",
                             logLevel: .trace, maxFrameSize: 1 << 20)),
                .hello(Hello(hostName: "", hostVersion: "", logLevel: .unspecified)),
                .getSpec,
                .check(CheckRequest(configJSON: "{\"host\":\"db\"}", role: .destination)),
                .check(CheckRequest(configJSON: "")),
                .discover(DiscoverRequest(configJSON: "{}")),
                .read(ReadRequest(configJSON: "{\"a\":1}", catalog: configured, states: [
                    State(id: 7, stream: StreamID(namespace: "sales", name: "orders"), data: Array("{\"lsn\":\"0/1\"}".utf8)),
                    State(id: 8, stream: nil, data: []),
                    State(id: .max, stream: StreamID(name: ""), data: [0, 255]),
                ])),
                .read(ReadRequest(configJSON: "", catalog: ConfiguredCatalog(streams: []))),
                .write(WriteRequest(configJSON: "{}", catalog: configured, sourceName: "postgres-prod")),
                .write(WriteRequest(configJSON: "{}", catalog: configured, sourceName: "postgres-prod", pipelineID: "orders-to-warehouse")),
                .schema(schema),
                .schema(StreamSchema(stream: StreamID(name: "bare"), columns: [])),
                .records(try batch),
                .records(RecordBatch(stream: StreamID(name: "zero"), rowCount: 0, columns: [])),
                .state(State(id: 1, stream: nil, data: [1, 2, 3])),
                .state(State(id: 0, stream: StreamID(namespace: "", name: "t"), data: [])),
                .writeEnd,
                .cancel,
                .close,
                .readAck(ReadAck(stateID: 42)),
            ]
        }
    }

    static var pluginMessages: [PluginMessage] {
        get throws {
            let descriptor = StreamDescriptor(
                schema: schema, kind: "partitioned_table", uniqueKeys: [UniqueKey(name: "orders_pkey", columns: ["id"]), UniqueKey(name: "u", columns: [])],
                cursorCandidates: ["id", "updated_at"], syncModes: [.fullRefresh, .incremental],
                estimatedRows: 123_456_789_012, estimatedBytes: -1, readable: false, remedy: "GRANT SELECT ON sales.orders TO sluice;")
            var summary = StreamSummary(stream: StreamID(namespace: "sales", name: "orders"))
            summary.records = 10
            summary.bytes = 2_000
            summary.inserted = 5
            summary.updated = 3
            summary.deleted = 2
            summary.unmatched = 1
            summary.nulBytesStripped = .max
            return [
                .hello(HelloReply(pluginName: "postgres", pluginVersion: "1.2.3", protocolVersion: 1, roles: [.source, .destination],
                                  capabilities: Capabilities(readModes: [.fullRefresh, .incremental],
                                                             writeModes: [.append, .upsert, .updateOnly, .mirror, .replace],
                                                             features: ["cancel", "pgvector"]))),
                .hello(HelloReply(pluginName: "", pluginVersion: "", protocolVersion: 0, roles: [], capabilities: Capabilities())),
                .spec(SpecResponse(configSchemaJSON: "{\"type\":\"object\"}", documentation: "https://example.invalid/docs")),
                .check(CheckResponse(checks: [
                    CheckResult(name: "reachable", passed: true, code: "OK", message: ""),
                    CheckResult(name: "privileges", passed: false, code: "PERMISSION_DENIED", message: "GRANT USAGE ON SCHEMA s TO u;"),
                ])),
                .check(CheckResponse(passed: true, checks: [])),
                .catalog(Catalog(streams: [descriptor, StreamDescriptor(schema: StreamSchema(stream: StreamID(name: "v"), columns: []))])),
                .catalog(Catalog(streams: [])),
                .schema(schema),
                .records(try batch),
                // Two PostgreSQL rows of one column: 7 and NULL.
                .records(RecordBatch(stream: StreamID(name: "rows"), rowCount: 2, columns: [],
                                     postgresRows: [0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7, 0, 1, 255, 255, 255, 255])),
                .state(State(id: 42, stream: StreamID(namespace: "sales", name: "orders"), data: Array("{}".utf8))),
                .state(State(id: 44, stream: StreamID(namespace: "sales", name: "orders"), data: Array("{}".utf8), streamComplete: true)),
                .state(State(id: 43, stream: nil, data: [])),
                .stateAck(StateAck(id: 42, stream: StreamID(namespace: "sales", name: "orders"))),
                .stateAck(StateAck(id: 0, stream: nil)),
                .committedStates(CommittedStates(states: [State(id: 7, stream: StreamID(namespace: "sales", name: "orders"), data: Array("{\"v\":2}".utf8)),
                                                          State(id: 3, stream: nil, data: [0, 255])],
                                                 freshStreams: [StreamID(name: "new_table")])),
                .committedStates(CommittedStates(states: [])),
                .committedStates(CommittedStates(states: [], freshStreams: [StreamID(name: "t")], postgresRowsStreams: [StreamID(name: "t"), StreamID(namespace: "a", name: "u")])),
                .streamStatus(StreamStatus(stream: StreamID(name: "t"), status: .started)),
                .streamStatus(StreamStatus(stream: StreamID(namespace: "s", name: "t"), status: .incomplete, message: "cancelled")),
                .log(LogMessage(level: .warn, message: "slow query ⏳", logger: "postgres.source")),
                .log(LogMessage(level: .unspecified, message: "")),
                .progress(StreamProgress(stream: StreamID(name: "t"), records: 1_000_000, bytes: 1 << 40, estimatedRecords: -1)),
                .summary(Summary(streams: [summary, StreamSummary(stream: StreamID(name: "other"))], durationMicros: 12_345)),
                .summary(Summary(streams: [], durationMicros: 0)),
                .error(PluginError(category: .transient, code: "CONN_FAILED", message: "connection refused", detail: "errno 111",
                                   retryable: true, stream: StreamID(namespace: "sales", name: "orders"))),
                .error(PluginError(category: .protocol, code: "TRUNCATED_FRAME", message: "input ended", stream: nil)),
            ]
        }
    }

    @Test func everyHostMessage() throws {
        let messages = try Self.hostMessages
        #expect(Set(messages.map(\.name)).count == 13, "every HostMessage case is covered")
        for message in messages {
            let decoded = try WireCodec.decodeHostMessage(WireCodec.encode(message))
            #expect(decoded == message, "\(message.name)")
        }
    }

    @Test func everyPluginMessage() throws {
        let messages = try Self.pluginMessages
        #expect(Set(messages.map(\.name)).count == 14, "every PluginMessage case is covered")
        for message in messages {
            let decoded = try WireCodec.decodePluginMessage(WireCodec.encode(message))
            #expect(decoded == message, "\(message.name)")
        }
    }

    @Test func absentStreamStaysAbsent() throws {
        guard case .state(let state) = try WireCodec.decodeHostMessage(WireCodec.encode(HostMessage.state(State(id: 1, stream: nil, data: [])))),
              case .stateAck(let ack) = try WireCodec.decodePluginMessage(WireCodec.encode(PluginMessage.stateAck(StateAck(id: 1, stream: nil)))),
              case .error(let error) = try WireCodec.decodePluginMessage(WireCodec.encode(PluginMessage.error(
                  PluginError(category: .data, code: "X", message: "m"))))
        else {
            Issue.record("wrong message kind back")
            return
        }
        #expect(state.stream == nil)
        #expect(ack.stream == nil)
        #expect(error.stream == nil)
        // An empty stream id is still present.
        guard case .state(let named) = try WireCodec.decodeHostMessage(WireCodec.encode(HostMessage.state(State(id: 1, stream: StreamID(name: ""), data: []))))
        else {
            Issue.record("wrong message kind back")
            return
        }
        #expect(named.stream == StreamID(name: ""))
    }

    @Test func unicodeAndLongStringsInFields() throws {
        let long = String(repeating: "σ🚀", count: 50_000)
        let message = PluginMessage.log(LogMessage(level: .debug, message: long, logger: "ünïcode"))
        #expect(try WireCodec.decodePluginMessage(WireCodec.encode(message)) == message)
    }

    @Test func unknownEnumNumbersReadAsUnspecified() throws {
        // CheckRequest { role = 99 } inside HostMessage.check (field 3).
        let payload = Wire.field(3, Wire.field(2, varint: 99))
        #expect(try WireCodec.decodeHostMessage(payload) == .check(CheckRequest(configJSON: "", role: .unspecified)))
    }
}
