@testable import PostgresClient
import Testing

/// The pgoutput decoder on messages captured from PostgreSQL 18 (`pg_logical_slot_peek_binary_changes`
/// with `proto_version '1'`) and on malformed input.
@Suite("pgoutput decoder")
struct PgOutputDecoderTests {
    static func bytes(_ hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    static func text(_ value: String) -> TupleValue { .text(Array(value.utf8)) }

    /// Captured: `CREATE TABLE cap_t (id int PRIMARY KEY, note text, big text, n numeric)` and a
    /// REPLICA IDENTITY FULL table `cap_full (a int, b text)`, then changes to both.
    static let captured: [String: String] = [
        "begin": "4200000000745861c8000304c0cefdd470000023d0",
        "commit": "430000000000745861c800000000745861f8000304c0cefdd470",
        "relation": "5200008db47075626c6963006361705f74006400040169640000000017ffffffff006e6f74650000000019ffffffff006269670000000019ffffffff006e00000006a4ffffffff",
        "relationFull": "5200008dbc7075626c6963006361705f66756c6c0066000201610000000017ffffffff01620000000019ffffffff",
        "insertFull": "4900008dbc4e0002740000000137740000000178",
        "updateFull": "5500008dbc4f00027400000001377400000001784e0002740000000137740000000179",
        "deleteFull": "4400008dbc4f0002740000000137740000000179",
        "deleteKey": "4400008db44b00047400000001316e6e6e",
        "truncate": "54000000020200008db400008dbc",
    ]

    @Test("captured messages decode to their fields")
    func captured() throws {
        let decode = { (name: String) throws in try PgOutputMessage(decoding: Self.bytes(Self.captured[name]!)) }
        #expect(try decode("begin") == .begin(.init(finalLSN: LSN("0/745861C8")!, commitTime: 0x304c0cefdd470, xid: 0x23d0)))
        #expect(try decode("commit") == .commit(.init(flags: 0, commitLSN: LSN("0/745861C8")!, endLSN: LSN("0/745861F8")!, commitTime: 0x304c0cefdd470)))
        guard case .relation(let relation) = try decode("relation") else { Issue.record("not a relation"); return }
        #expect(relation.oid == 0x8db4 && relation.namespace == "public" && relation.name == "cap_t")
        #expect(relation.replicaIdentity == UInt8(ascii: "d"))
        #expect(relation.columns.map(\.name) == ["id", "note", "big", "n"])
        #expect(relation.columns.map(\.isKey) == [true, false, false, false])
        #expect(relation.columns.map(\.typeOID) == [23, 25, 25, 1700])
        #expect(relation.columns.map(\.typeModifier) == [-1, -1, -1, -1])
        guard case .relation(let full) = try decode("relationFull") else { Issue.record("not a relation"); return }
        #expect(full.replicaIdentity == UInt8(ascii: "f") && full.columns.map(\.isKey) == [true, true])
        #expect(try decode("insertFull") == .insert(relation: 0x8dbc, new: [Self.text("7"), Self.text("x")]))
        #expect(try decode("updateFull") == .update(relation: 0x8dbc, old: .row([Self.text("7"), Self.text("x")]), new: [Self.text("7"), Self.text("y")]))
        #expect(try decode("deleteFull") == .delete(relation: 0x8dbc, old: .row([Self.text("7"), Self.text("y")])))
        #expect(try decode("deleteKey") == .delete(relation: 0x8db4, old: .key([Self.text("1"), .null, .null, .null])))
        #expect(try decode("truncate") == .truncate(.init(relations: [0x8db4, 0x8dbc], cascade: false, restartIdentity: true)))
    }

    @Test("unchanged TOAST, binary values, key updates, origin, type and message decode")
    func builtMessages() throws {
        // Update of cap_t's row 2 whose `big` was not sent (u), with the old key (K).
        let update = Self.bytes("5500008db4" + "4b0004" + "740000000132" + "6e6e6e" + "4e0004" + "740000000133" + "740000000161" + "75" + "6e")
        #expect(try PgOutputMessage(decoding: update) == .update(relation: 0x8db4, old: .key([Self.text("2"), .null, .null, .null]),
                                                                 new: [Self.text("3"), Self.text("a"), .unchanged, .null]))
        let binary = Self.bytes("4900008db4" + "4e0001" + "6200000004" + "0000002a")
        #expect(try PgOutputMessage(decoding: binary) == .insert(relation: 0x8db4, new: [.binary([0, 0, 0, 42])]))
        let origin = Self.bytes("4f" + "0000000000000010" + "6f726900")
        #expect(try PgOutputMessage(decoding: origin) == .origin(lsn: LSN(rawValue: 16), name: "ori"))
        let type = Self.bytes("59" + "00004000" + "7075626c696300" + "6d6f6f6400")
        #expect(try PgOutputMessage(decoding: type) == .type(oid: 0x4000, namespace: "public", name: "mood"))
        let message = Self.bytes("4d" + "01" + "0000000000000020" + "736c7569636500" + "00000002" + "6869")
        #expect(try PgOutputMessage(decoding: message) == .message(.init(transactional: true, lsn: LSN(rawValue: 32), prefix: "sluice", content: Array("hi".utf8))))
    }

    @Test("every truncation of every captured message is an error, never a trap or a partial message")
    func truncations() {
        for (name, hex) in Self.captured {
            let whole = Self.bytes(hex)
            for length in 0..<whole.count {
                #expect(throws: ReplicationDecodingError.self, "\(name) cut at \(length)") { try PgOutputMessage(decoding: Array(whole[..<length])) }
            }
            #expect(throws: ReplicationDecodingError.self, "\(name) with a trailing byte") { try PgOutputMessage(decoding: whole + [0]) }
        }
    }

    @Test("malformed messages are errors that say what is wrong")
    func malformed() {
        let cases: [(String, String)] = [
            ("", "the message ends inside the pgoutput message tag"),
            ("7a", "unknown pgoutput message tag 122"),
            ("4900008dbc" + "4b0000", "an Insert has no new tuple (N)"),
            ("4900008dbc4e0001" + "78", "unknown tuple column kind 120"),
            ("4900008dbc4e0001" + "74ffffffff", "a text value length is negative (-1)"),
            ("4900008dbc4e0001" + "747fffffff", "the message ends inside a text value length"),
            ("4900008dbc4e" + "ffff", "the tuple column count 65535 exceeds the message"),
            ("4400008dbc" + "4e0000", "a Delete has no old key or row (K or O)"),
            ("54" + "7fffffff" + "00", "the Truncate relation count 2147483647 is out of range"),
            ("54" + "ffffffff" + "00", "the Truncate relation count -1 is out of range"),
            ("5200008dbc" + "7075626c6963", "the Relation namespace has no terminating NUL"),
            ("5200008dbc" + "ff00" + "7400" + "66" + "0001", "the Relation namespace is not valid UTF-8"),
            ("5200008dbc" + "7000" + "7400" + "66" + "ffff", "the Relation column count 65535 exceeds the message"),
            ("4d01" + "0000000000000020" + "7300" + "ffffffff", "the Message length is negative (-1)"),
        ]
        for (hex, expected) in cases {
            #expect(throws: ReplicationDecodingError(expected), "\(hex)") { try PgOutputMessage(decoding: Self.bytes(hex)) }
        }
    }

    @Test("replication CopyData: XLogData, keepalive, standby status encoding")
    func copyData() throws {
        let data = Self.bytes("77" + "0000000100000002" + "0000000100000003" + "0000000000000004" + "42")
        #expect(try ReplicationMessage(decoding: data) == .data(XLogData(start: LSN("1/2")!, walEnd: LSN("1/3")!, serverClock: 4, payload: [0x42])))
        let keepalive = Self.bytes("6b" + "0000000000000010" + "0000000000000005" + "01")
        #expect(try ReplicationMessage(decoding: keepalive) == .keepalive(Keepalive(walEnd: LSN(rawValue: 16), serverClock: 5, replyRequested: true)))
        #expect(throws: ReplicationDecodingError.self) { try ReplicationMessage(decoding: keepalive + [0]) }
        #expect(throws: ReplicationDecodingError.self) { try ReplicationMessage(decoding: Array(keepalive.dropLast())) }
        #expect(throws: ReplicationDecodingError.self) { try ReplicationMessage(decoding: [0x71]) }
        let status = StandbyStatus(write: LSN("A/1")!, flush: LSN("A/2")!, apply: LSN("A/3")!, replyRequested: true)
        let encoded = status.encoded(clockMicroseconds: StandbyStatus.postgresEpochOffset + 7)
        #expect(encoded == Self.bytes("72" + "0000000a00000001" + "0000000a00000002" + "0000000a00000003" + "0000000000000007" + "01"))
    }

    @Test("LSN text form parses and prints like PostgreSQL's")
    func lsnText() {
        #expect(LSN("16/B374D848")?.rawValue == 0x16_B374_D848)
        #expect(LSN(rawValue: 0x16_B374_D848).description == "16/B374D848")
        #expect(LSN("0/0") == .zero)
        for bad in ["", "1", "1/", "/1", "1/2/3", "G/1", "123456789/1", "+1/1", "1/-1"] { #expect(LSN(bad) == nil, "\(bad)") }
    }
}
