import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// PROTOCOL.md §5.8: a type without a logical type travels as the text of its output function
/// (what `format('%s', v)` and psql print), not as `v::text`, which for inet adds the mask.
@Suite("postgres-plugin source: output-function text")
struct SourceOutputTextTests {
    @Test("inet, cidr, a domain over inet and inet[] arrive as their output text, not as ::text")
    func inetAndCidr() async throws {
        try await SourceHarness.withSchema { schema, connection in
            let table = SQL.quoteQualified(schema: schema, name: "addresses")
            let domain = SQL.quoteQualified(schema: schema, name: "address")
            _ = try await connection.executeScript("""
                CREATE DOMAIN \(domain) AS inet;
                CREATE TABLE \(table) (id int PRIMARY KEY, ip inet, net cidr, dom \(domain), ips inet[]);
                INSERT INTO \(table) VALUES
                  (1, '10.0.0.1/32', '10.0.0.0/8', '192.168.1.5/32', ARRAY['10.0.0.1/32', NULL, '10.0.0.2/8']::inet[]),
                  (2, '::1/128', '::/0', '2001:db8::1/64', '{}'),
                  (3, '192.168.0.1/24', '10.1.2.3/32', NULL, NULL);
                """)
            let result = try await SourceHarness.read([SourceHarness.stream(schema, "addresses")])
            let rows = try result.rows("addresses")
            #expect(rows.count == 3)
            let expected: [[Value]] = [
                [.int32(1), .string("10.0.0.1"), .string("10.0.0.0/8"), .string("192.168.1.5"),
                 .list([.string("10.0.0.1"), .null, .string("10.0.0.2/8")])],
                [.int32(2), .string("::1"), .string("::/0"), .string("2001:db8::1/64"), .list([])],
                [.int32(3), .string("192.168.0.1/24"), .string("10.1.2.3/32"), .null, .null],
            ]
            #expect(rows == expected)
            // The server's output function agrees, and ::text would have differed.
            let server = try await SourceHarness.query(connection, """
                SELECT format('%s', ip), ip::text, format('%s', dom), dom::text FROM \(table) WHERE id = 1
                """)
            #expect(server == [["10.0.0.1", "10.0.0.1/32", "192.168.1.5", "192.168.1.5/32"]])
            let types = result.schemas.last?.columns.map(\.sourceType)
            #expect(types == ["integer", "inet", "cidr", "\(schema).address", "inet[]"], "\(String(describing: types))")
        }
    }
}
