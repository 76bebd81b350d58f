import PostgresClient
import SluiceTestSupport
import SluiceWire
import Testing

/// A destination role that may only write into tables made for it (no CREATE on the schema or
/// the database) runs pipelines once an administrator has made them: nothing the Write does
/// asks for CREATE when the object exists.
@Suite("Destination: a role that may only write")
struct LeastPrivilegeTests {
    private let items = DestinationHarness.items

    @Test("with the table and _sluice_state made by another role, a pipeline's upsert writes its rows and commits its states")
    func pipelineWithoutCreate() async throws {
        try await DestinationHarness.withSchema { schema, admin in
            let pipeline = "least-privilege"
            // The administrator's first run makes the schema, the table and _sluice_state.
            let first = try await DestinationHarness.write(DestinationHarness.config(schema: schema), streams: [ConfiguredStream(schema: items)],
                                                           [.schema(items), try DestinationHarness.items(1...100), .state(State(id: 1, stream: nil, data: [1]))],
                                                           pipelineID: pipeline)
            #expect(first.acks.map(\.id) == [1])
            let role = "sluice_writer_\(Int.random(in: 100_000...999_999))", password = "writer-pw"
            let quoted = SQL.quoteIdentifier(schema)
            _ = try await admin.executeScript("""
                CREATE ROLE \(role) LOGIN PASSWORD '\(password)';
                GRANT USAGE ON SCHEMA \(quoted) TO \(role);
                GRANT SELECT, INSERT, UPDATE, DELETE ON \(quoted).items, \(quoted)._sluice_state TO \(role)
                """)
            do {
                let config = DestinationHarness.config(schema: schema, ["user": role, "password": password, "write_mode": "upsert"])
                let second = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: items)],
                                                                [.schema(items), try DestinationHarness.items(51...150), .state(State(id: 2, stream: nil, data: [2]))],
                                                                pipelineID: pipeline)
                #expect(second.acks.map(\.id) == [2])
                #expect(second.stream("items")?.inserted == 50 && second.stream("items")?.updated == 50)
                #expect(try await DestinationHarness.rows(admin, "SELECT count(*), min(id), max(id) FROM \(quoted).items") == [["150", "1", "150"]])
                #expect(try await DestinationHarness.rows(admin, "SELECT state_id::text, encode(state, 'hex') FROM \(quoted)._sluice_state WHERE pipeline_id = '\(pipeline)'")
                        == [["2", "02"]])
            } catch {
                _ = try? await admin.executeScript("DROP OWNED BY \(role); DROP ROLE \(role)")
                throw error
            }
            _ = try await admin.executeScript("DROP OWNED BY \(role); DROP ROLE \(role)")
        }
    }
}
