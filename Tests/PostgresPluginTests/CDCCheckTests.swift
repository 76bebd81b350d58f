@testable import PostgresPlugin
import Foundation
import PostgresClient
import SluiceTestSupport
import SluiceSDK
import SluiceWire
import Testing

/// Check's change data capture prerequisites, through the real plugin binary.
@Suite("postgres-plugin Check: change data capture")
struct CDCCheckTests {
    private func check(_ overrides: [String: Any]) async throws -> CheckResponse {
        let client = try await PluginClient.launch(executable: Binaries.postgresPlugin,
                                                   hello: Hello(hostName: "cdc-check-tests", hostVersion: "1"))
        defer { Task { await client.close() } }
        return try await client.check(CheckRequest(configJSON: SourceHarness.config(overrides), role: .source))
    }

    private func result(_ response: CheckResponse, _ name: String) -> CheckResult? {
        response.checks.first { $0.name == name }
    }

    @Test("a superuser with keyed tables passes; the missing publication will be created; CDC checks only when configured")
    func passes() async throws {
        try await SourceHarness.withSchema { schema, connection in
            _ = try await connection.executeScript("""
                CREATE TABLE \(SQL.quoteIdentifier(schema)).keyed (id int PRIMARY KEY, v text);
                CREATE TABLE \(SQL.quoteIdentifier(schema)).full_identity (v text);
                ALTER TABLE \(SQL.quoteIdentifier(schema)).full_identity REPLICA IDENTITY FULL;
                """)
            let publication = "pub_" + schema
            let response = try await check(["schemas": [schema], "cdc_publication": publication])
            #expect(response.passed, "\(response.checks)")
            for name in ["cdc_wal_level", "cdc_replication_privilege", "cdc_capacity", "cdc_publication", "cdc_replica_identity"] {
                #expect(result(response, name)?.passed == true, "\(name): \(String(describing: result(response, name)))")
            }
            #expect(result(response, "cdc_publication")?.message.contains("CREATE PUBLICATION \"\(publication)\" FOR TABLE \"\(schema)\".\"full_identity\", \"\(schema)\".\"keyed\" WITH (publish_via_partition_root = true);") == true)
            let plain = try await check(["schemas": [schema]])
            #expect(!plain.checks.contains { $0.name.hasPrefix("cdc") })
        }
    }

    @Test("a table without primary key or replica identity fails with the fix; an incomplete publication names the ALTER")
    func replicaIdentity() async throws {
        try await SourceHarness.withSchema { schema, connection in
            let publication = "pub_" + schema
            _ = try await connection.executeScript("""
                CREATE TABLE \(SQL.quoteIdentifier(schema)).keyed (id int PRIMARY KEY);
                CREATE TABLE \(SQL.quoteIdentifier(schema)).loose (v text);
                CREATE TABLE \(SQL.quoteIdentifier(schema)).nothing (id int PRIMARY KEY);
                ALTER TABLE \(SQL.quoteIdentifier(schema)).nothing REPLICA IDENTITY NOTHING;
                CREATE PUBLICATION \(SQL.quoteIdentifier(publication)) FOR TABLE \(SQL.quoteIdentifier(schema)).keyed;
                """)
            defer { Task { _ = try? await TestDatabase.connect().executeScript("DROP PUBLICATION IF EXISTS \(SQL.quoteIdentifier(publication))") } }
            let response = try await check(["schemas": [schema], "cdc_publication": publication])
            let identity = try #require(result(response, "cdc_replica_identity"))
            #expect(!identity.passed && identity.code == "NO_REPLICA_IDENTITY")
            #expect(identity.message.contains("\(schema).loose has no primary key"))
            #expect(identity.message.contains("ALTER TABLE \"\(schema)\".\"loose\" REPLICA IDENTITY FULL;"))
            #expect(identity.message.contains("\(schema).nothing has REPLICA IDENTITY NOTHING"))
            #expect(!identity.message.contains("keyed"))
            let published = try #require(result(response, "cdc_publication"))
            #expect(published.passed, "the superuser may extend it")
            #expect(published.message.contains("ALTER PUBLICATION \"\(publication)\" ADD TABLE \"\(schema)\".\"loose\", \"\(schema)\".\"nothing\";"))
        }
    }

    @Test("a role without REPLICATION, unable to create the publication, is told what to run")
    func notAllowed() async throws {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let role = "sluice_cdc_\(suffix)", password = "pw-\(suffix)"
        let admin = try await TestDatabase.connect()
        defer { admin.close() }
        try await SourceHarness.withSchema { schema, connection in
            _ = try await connection.executeScript("""
                CREATE ROLE \(role) LOGIN PASSWORD '\(password)';
                CREATE TABLE \(SQL.quoteIdentifier(schema)).keyed (id int PRIMARY KEY);
                GRANT USAGE ON SCHEMA \(SQL.quoteIdentifier(schema)) TO \(role);
                GRANT SELECT ON ALL TABLES IN SCHEMA \(SQL.quoteIdentifier(schema)) TO \(role);
                """)
            do {
                let response = try await check(["schemas": [schema], "user": role, "password": password, "cdc_slot": "s_\(suffix)",
                                                 "cdc_publication": "p_\(suffix)"])
                let privilege = try #require(result(response, "cdc_replication_privilege"))
                #expect(!privilege.passed && privilege.code == "PERMISSION_DENIED")
                #expect(privilege.message.contains("ALTER ROLE \"\(role)\" WITH REPLICATION;"))
                let published = try #require(result(response, "cdc_publication"))
                #expect(!published.passed && published.code == "PUBLICATION_MISSING")
                #expect(published.message.contains("CREATE PUBLICATION \"p_\(suffix)\" FOR TABLE \"\(schema)\".\"keyed\""))
                #expect(!"\(response)".contains(password))
            } catch {
                _ = try? await admin.executeScript("DROP OWNED BY \(role); DROP ROLE \(role)")
                throw error
            }
        }
        _ = try await admin.executeScript("DROP OWNED BY \(role); DROP ROLE \(role)")
    }
}

@Suite("CDC bounded run target")
struct CDCTargetTests {
    @Test("a target inside a WAL page header moves back to the page start; others stay")
    func recordBoundary() {
        #expect(CDCReader.recordBoundary(LSN(rawValue: 8192 * 5 + 24), blockSize: 8192) == LSN(rawValue: 8192 * 5))
        #expect(CDCReader.recordBoundary(LSN(rawValue: 8192 * 5 + 40), blockSize: 8192) == LSN(rawValue: 8192 * 5))
        #expect(CDCReader.recordBoundary(LSN(rawValue: 8192 * 5 + 48), blockSize: 8192) == LSN(rawValue: 8192 * 5 + 48))
        #expect(CDCReader.recordBoundary(LSN(rawValue: 7), blockSize: 0) == LSN(rawValue: 7))
    }
}
