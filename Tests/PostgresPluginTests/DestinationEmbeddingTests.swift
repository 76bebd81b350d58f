import Foundation
import PostgresClient
@testable import PostgresPlugin
import SluiceSDK
import SluiceWire
import Testing

/// `embeddings`: pgvector tables of chunked, embedded text kept in step with their tables,
/// against a real OpenAI-compatible HTTP endpoint (`scripts/embedding-server.py`).
@Suite(.needsPGVector) struct DestinationEmbeddingTests {
    static let apiKey = "sk-test-9f8e7d6c5b4a"
    static let dimensions = 64

    let docs = DestinationHarness.schema("docs", [
        Column(name: "id", type: LogicalType(.int64), nullable: false),
        Column(name: "title", type: LogicalType(.string)),
        Column(name: "body", type: LogicalType(.string)),
        Column(name: "category", type: LogicalType(.string)),
    ], primaryKey: ["id"])

    static let longBody = (1...12).map { "Paragraph \($0) talks about pears, plums and peaches in some detail." }.joined(separator: "\n\n")

    func config(_ schema: String, _ server: EmbeddingServer, apiKey: String = apiKey, dimensions: Int = dimensions,
                extra: [String: Any] = [:]) -> String {
        DestinationHarness.config(schema: schema, [
            "embeddings": [
                "tables": [["table": "docs", "embed_columns": ["title", "body"], "metadata_columns": ["category"]]],
                "chunk_size": 120, "chunk_overlap": 20, "base_url": server.baseURL, "api_key": apiKey,
                "model": "test-embedder", "dimensions": dimensions, "batch_size": 5,
            ] as [String: Any],
        ].merging(extra) { $1 })
    }

    func row(_ id: Int64, _ title: String?, _ body: String?, _ category: String) -> [Value] {
        [.int64(id), title.map(Value.string) ?? .null, body.map(Value.string) ?? .null, .string(category)]
    }

    /// Chunk counts and texts per id, in order.
    func chunks(_ connection: PostgresConnection, _ schema: String) async throws -> [[String?]] {
        try await DestinationHarness.rows(connection,
            "SELECT e.id::text, e._sluice_chunk::text, e.category, e._sluice_text, vector_dims(e._sluice_embedding)::text FROM \(schema).docs_embeddings e ORDER BY e.id, e._sluice_chunk")
    }

    @Test func chunksAreEmbeddedUpdatedDeletedAndMirrored() async throws {
        let server = try await EmbeddingServer.start(apiKey: Self.apiKey)
        defer { server.stop() }
        try await DestinationHarness.withSchema { schema, connection in
            let splitter = TextSplitter(chunkSize: 120, chunkOverlap: 20)
            let first = try await DestinationHarness.write(config(schema, server), streams: [ConfiguredStream(schema: docs, writeMode: .upsert)], [
                .schema(docs),
                try DestinationHarness.batch(docs, [row(1, "Apples", "Red apples grow on apple trees.", "fruit"),
                                                    row(2, "Stone fruit", Self.longBody, "fruit"),
                                                    row(3, "Carrots", nil, "vegetable"),
                                                    row(4, nil, nil, "empty")]),
            ])
            #expect(first.stream("docs")?.inserted == 4)
            let expected2 = splitter.split("Stone fruit\n" + Self.longBody)
            #expect(expected2.count > 3)
            var rows = try await chunks(connection, schema)
            #expect(rows.filter { $0[0] == "1" }.map { $0[3] } == ["Apples\nRed apples grow on apple trees."])
            #expect(rows.filter { $0[0] == "2" }.map { $0[3] } == expected2.map(Optional.some))
            #expect(rows.filter { $0[0] == "3" }.map { $0[3] } == ["Carrots"])
            #expect(rows.allSatisfy { $0[4] == "\(Self.dimensions)" && $0[2] != nil })
            #expect(!rows.contains { $0[0] == "4" }, "a row without text has no chunks")

            // The nearest chunk to a query about apples is row 1's.
            let query = try await server.vector("red apples", apiKey: Self.apiKey, dimensions: Self.dimensions)
            let nearest = try await connection.execute("SELECT id FROM \(schema).docs_embeddings ORDER BY _sluice_embedding <=> $1::vector LIMIT 1", [.text(query)])
            #expect(nearest.rows == [["1"]])

            // An update replaces the row's chunks; a delete removes them.
            var deletion = try RecordBatch(schema: docs, rows: [row(2, "Stone fruit", "Only plums now.", "fruit"), row(3, nil, nil, "")])
            deletion.operations = [RowOperation.upsert.rawValue, RowOperation.delete.rawValue]
            _ = try await DestinationHarness.write(config(schema, server), streams: [ConfiguredStream(schema: docs, writeMode: .upsert)],
                                                   [.schema(docs), .records(deletion)])
            rows = try await chunks(connection, schema)
            #expect(rows.map { [$0[0], $0[3]] } == [["1", "Apples\nRed apples grow on apple trees."], ["2", "Stone fruit\nOnly plums now."]])

            // Mirror: rows the sync did not send go, and their chunks with them.
            _ = try await DestinationHarness.write(config(schema, server), streams: [ConfiguredStream(schema: docs, writeMode: .mirror)],
                                                   [.schema(docs), try DestinationHarness.batch(docs, [row(1, "Apples", "Green apples.", "fruit")])])
            rows = try await chunks(connection, schema)
            #expect(rows.map { [$0[0], $0[3]] } == [["1", "Apples\nGreen apples."]])
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*) FROM \(schema).docs") == [["1"]])
        }
    }

    @Test func replaceSwapsTheEmbeddingsInWithTheTable() async throws {
        let server = try await EmbeddingServer.start(apiKey: Self.apiKey)
        defer { server.stop() }
        try await DestinationHarness.withSchema { schema, connection in
            let replace = [ConfiguredStream(schema: docs, writeMode: .replace)]
            _ = try await DestinationHarness.write(config(schema, server), streams: replace, [
                .schema(docs), try DestinationHarness.batch(docs, [row(1, "Apples", "Red.", "fruit"), row(2, "Pears", "Green.", "fruit")]),
            ])
            _ = try await DestinationHarness.write(config(schema, server), streams: replace, [
                .schema(docs), try DestinationHarness.batch(docs, [row(3, "Plums", "Purple.", "fruit")]),
            ])
            let tables = "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = '\(schema)'"
            #expect(try await DestinationHarness.rows(connection, tables) == [["docs,docs_embeddings"]])
            #expect(try await chunks(connection, schema).map { [$0[0], $0[3]] } == [["3", "Plums\nPurple."]])
            // A replace that fails (the endpoint refuses the key) leaves both tables as they were.
            do {
                _ = try await DestinationHarness.write(config(schema, server, apiKey: "sk-wrong-key-000"), streams: replace, [
                    .schema(docs), try DestinationHarness.batch(docs, [row(4, "Figs", "Sweet.", "fruit")]),
                ])
                Issue.record("the replace with a refused key succeeded")
            } catch HostError.plugin(let error) {
                #expect(error.code == "EMBEDDING_FAILED")
            }
            #expect(try await DestinationHarness.rows(connection, tables) == [["docs,docs_embeddings"]])
            #expect(try await DestinationHarness.rows(connection, "SELECT id::text FROM \(schema).docs") == [["3"]])
            #expect(try await chunks(connection, schema).map { [$0[0], $0[3]] } == [["3", "Plums\nPurple."]])
        }
    }

    @Test func checkTriesTheEndpointWithTheKey() async throws {
        let server = try await EmbeddingServer.start(apiKey: Self.apiKey)
        defer { server.stop() }
        for (key, code) in [(Self.apiKey, "OK"), ("sk-wrong-key-111", "EMBEDDING_FAILED")] {
            let client = try await DestinationHarness.launch()
            let check = try await client.check(CheckRequest(configJSON: config("public", server, apiKey: key), role: .destination))
            await client.close()
            let result = try #require(check.checks.first { $0.name == "embeddings" })
            #expect(result.code == code, "\(result.message)")
            #expect(result.passed == (code == "OK"))
            #expect(!result.message.contains(key))
        }
    }

    @Test func overloadedEndpointIsRetried() async throws {
        let server = try await EmbeddingServer.start(apiKey: Self.apiKey, failFirst: 2)
        defer { server.stop() }
        try await DestinationHarness.withSchema { schema, connection in
            let outcome = try await DestinationHarness.write(config(schema, server), streams: [ConfiguredStream(schema: docs, writeMode: .append)],
                                                             [.schema(docs), try DestinationHarness.batch(docs, [row(1, "Apples", "Crisp.", "fruit")])])
            #expect(outcome.stream("docs")?.inserted == 1)
            #expect(try await server.stats()["failed"] == 2)
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*) FROM \(schema).docs_embeddings") == [["1"]])
        }
    }

    @Test func rejectedKeyFailsClearlyWithoutLeakingItOrCommitting() async throws {
        let server = try await EmbeddingServer.start(apiKey: Self.apiKey)
        defer { server.stop() }
        try await DestinationHarness.withSchema { schema, connection in
            let wrongKey = "sk-wrong-0123456789"
            do {
                _ = try await DestinationHarness.write(config(schema, server, apiKey: wrongKey), streams: [ConfiguredStream(schema: docs, writeMode: .append)],
                                                       [.schema(docs), try DestinationHarness.batch(docs, [row(1, "Apples", "Crisp.", "fruit")])])
                Issue.record("a rejected API key was accepted")
            } catch HostError.plugin(let error) {
                #expect(error.code == "EMBEDDING_FAILED")
                #expect(error.category == .config)
                #expect(error.message.contains("HTTP 401"), "\(error)")
                #expect(!"\(error)".contains(wrongKey))
            }
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*) FROM \(schema).docs") == [["0"]])
        }
    }

    @Test func unusableSettingsAreRefusedBeforeAnyData() async throws {
        let server = try await EmbeddingServer.start(apiKey: Self.apiKey)
        defer { server.stop() }
        try await DestinationHarness.withSchema { schema, connection in
            let keyless = DestinationHarness.schema("docs", docs.columns)
            let cases: [(StreamSchema, WriteMode, [String: Any], String)] = [
                (keyless, .append, [:], "EMBEDDINGS_NEED_KEY"),
                (docs, .append, ["table_layout": "raw"], "EMBEDDINGS_MODE"),
                (docs, .append, ["embeddings": ["tables": [["table": "docs", "embed_columns": ["id"]]], "base_url": server.baseURL,
                                                "dimensions": Self.dimensions] as [String: Any]], "EMBEDDINGS_COLUMN"),
            ]
            for (stream, mode, extra, code) in cases {
                do {
                    _ = try await DestinationHarness.write(config(schema, server, extra: extra), streams: [ConfiguredStream(schema: stream, writeMode: mode)],
                                                           [.schema(stream), try DestinationHarness.batch(stream, [row(1, "a", "b", "c")])])
                    Issue.record("\(code) was not raised")
                } catch HostError.plugin(let error) {
                    #expect(error.code == code, "\(error)")
                    #expect(error.category == .config)
                }
            }
            #expect(try await server.stats()["requests"] == 0)
            // A table of other dimensions is refused in safe mode.
            _ = try await DestinationHarness.write(config(schema, server), streams: [ConfiguredStream(schema: docs, writeMode: .upsert)], [.schema(docs)])
            do {
                _ = try await DestinationHarness.write(config(schema, server, dimensions: 32), streams: [ConfiguredStream(schema: docs, writeMode: .upsert)], [.schema(docs)])
                Issue.record("a vector(32) write into a vector(64) table was accepted")
            } catch HostError.plugin(let error) {
                #expect(error.code == "MIGRATION_REFUSED", "\(error)")
                #expect(error.message.contains("vector(64)"), "\(error)")
            }
        }
    }

    @Test func splitterPrefersParagraphsThenLinesThenWordsAndOverlaps() {
        let splitter = TextSplitter(chunkSize: 20, chunkOverlap: 6)
        #expect(splitter.split("short") == ["short"])
        #expect(splitter.split("first para\n\nsecond para") == ["first para", "second para"])
        let words = splitter.split("one two three four five six seven eight")
        #expect(words == ["one two three four", "four five six seven", "seven eight"])
        #expect(words.allSatisfy { $0.count <= 20 })
        let long = splitter.split(String(repeating: "x", count: 45))
        #expect(long.allSatisfy { $0.count <= 20 } && long.joined().count >= 45)
        #expect(splitter.split("  \n\n  ").isEmpty)
    }
}
