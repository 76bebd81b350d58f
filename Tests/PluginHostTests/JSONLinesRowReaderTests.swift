import SluiceTestSupport
import SluiceWire
import Testing
@testable import PluginHostKit

/// The JSON Lines reader's fast path (one scan, values straight into their columns) must read
/// every line exactly as the parse into JSON values does: the same batch, or the same message.
@Suite("plugin-host JSON Lines rows: the fast path reads every line as the JSON parse does")
struct JSONLinesRowReaderTests {
    /// One column per kind, a list of each scalar kind, and a column whose key is escaped.
    private static let schema: StreamSchema = {
        let scalars = TypeKind.allCases.filter { $0 != .unspecified && $0 != .list }
        let columns = scalars.map { Column(name: "\($0)", type: LogicalType($0)) }
            + scalars.map { Column(name: "list_\($0)", type: LogicalType(.list, elementKind: $0)) }
            + [Column(name: "_op", type: LogicalType(.string)), Column(name: "é", type: LogicalType(.string))]
        return StreamSchema(stream: StreamID(namespace: "public", name: "t"), columns: columns, primaryKey: ["int64"])
    }()
    private static let catalog = ConfiguredCatalog(streams: [
        ConfiguredStream(schema: schema),
        ConfiguredStream(schema: StreamSchema(stream: StreamID(namespace: "public", name: "other"),
                                              columns: [Column(name: "id", type: LogicalType(.int64))], primaryKey: ["id"])),
    ])

    /// Rows as `read` writes them, and the other forms a person or a tool writes.
    private static let lines: [String] = [
        #"{"_stream":"public.t","bool":true,"int16":-32768,"int32":2147483647,"int64":-9223372036854775808,"float32":1.5,"float64":-2.25e-3,"decimal":"12.50","string":"name 1","bytes":"AAEC","date":"2024-02-29","time":"23:59:59.999999","timetz":"12:00:00+05:30","timestamp":"2024-01-01T00:00:01.000000","timestamptz":"2024-01-01T00:00:01.000000Z","interval":{"months":1,"days":2,"micros":3},"uuid":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","json":"{\"k\": 1, \"v\": \"value 1\"}"}"#,
        #"{"_stream":"public.t","list_string":["a1","b1",null],"list_int64":[1,-2,"3"],"list_decimal":[0.5,"1.25"],"list_timestamptz":["2024-01-01T00:00:00Z",null],"list_bool":[true,false],"list_uuid":[],"list_float64":[1e308,-0.0]}"#,
        #"{"_stream":"public.t","int64":"42","int32":"-0","int16":1e3,"decimal":1.50,"float64":"NaN","float32":"-Infinity","date":"infinity","timestamptz":"-infinity","timestamp":"2024-01-01 10:00:00"}"#,
        #"{"_stream":"public.t","int64":"+5","int32":"007","int16":7.0,"decimal":"-0","float64":0e5,"timestamptz":"2024-06-01T12:00:00-07:00"}"#,
        #"{"_stream":"public.t","decimal":"1e5","int64":1.5}"#,
        #"{"_stream":"public.t","decimal":1E-3}"#,
        #"{"_stream":"public.t","decimal":"+Infinity","string":"tab\there \"quoted\" \\ \/ \u00e9 \ud83d\ude00 \b\f\n\r"}"#,
        #"{"_stream":"public.t","string":"\ud83d"}"#,
        #"{"_stream":"public.t","string":"\ude00"}"#,
        #"{"_stream":"public.t","string":"héllo wörld ✓"}"#,
        #"{"_stream":"public.t","json":{"a":[1,2,{"b":null}]},"list_json":["{}","[1]"]}"#,
        #"{"_stream":"public.t","json":[1, 2 ,3],"string":"x"}"#,
        #"{"_stream":"public.t","json":12.50}"#,
        #"{"_stream":"public.t","list_int64":[[1]]}"#,
        #"{"_stream":"public.t","list_int64":[1,"x"]}"#,
        #"{"_stream":"public.t","list_string":"not a list"}"#,
        #"{"_stream":"public.t","int64":9223372036854775808}"#,
        #"{"_stream":"public.t","int64":-9223372036854775809}"#,
        #"{"_stream":"public.t","int16":32768}"#,
        #"{"_stream":"public.t","int32":"12345678901234567890123"}"#,
        #"{"_stream":"public.t","float32":1e39}"#,
        #"{"_stream":"public.t","float64":1e-400}"#,
        #"{"_stream":"public.t","date":"2023-02-29"}"#,
        #"{"_stream":"public.t","time":"24:00:01"}"#,
        #"{"_stream":"public.t","timestamptz":"2024-01-01T00:00:00+16:00"}"#,
        #"{"_stream":"public.t","uuid":"not-a-uuid"}"#,
        #"{"_stream":"public.t","bool":"true"}"#,
        #"{"_stream":"public.t","bytes":"!!"}"#,
        #"{"_stream":"public.t","interval":{"months":1}}"#,
        #"{"_stream":"public.t","string":1}"#,
        #"{"_stream":"public.t","__op":"kept","é":"named"}"#,
        #"{"_stream":"public.t","string":"a","int64":1,"bool":false}"#,
        #"{"int64":1,"_stream":"public.t"}"#,
        #"  { "_stream" : "public.t" , "int64" : 1 , "string" : "spaced" }  "#,
        #"{"_stream":"public.t","int64":1,"int64":2}"#,
        #"{"_stream":"public.t","nope":1}"#,
        #"{"_stream":"public.t","_op":"delete","int64":1}"#,
        #"{"_stream":"public.t","_op":"truncate"}"#,
        #"{"_stream":"public.t","_op":"upsert","_unchanged":["string"],"int64":1}"#,
        #"{"_stream":"public.t","_unchanged":["int64"],"int64":1}"#,
        #"{"_stream":"public.other","id":7}"#,
        #"{"_stream":"public.missing","id":7}"#,
        #"{"_str\u0065am":"public.t","int64":1}"#,
        #"{"_stream":"public.t","str\u0069ng":"escaped key"}"#,
        #"{"_stream":"public.t"}"#,
        #"{}"#,
        #"[1,2]"#,
        #"{"_stream":"public.t","int64":01}"#,
        #"{"_stream":"public.t","int64":1,}"#,
        #"{"_stream":"public.t","int64":1} x"#,
        #"{"_stream":"public.t","string":"unterminated}"#,
        #"{"_stream":"public.t","string":"bad \x escape"}"#,
        #"{"_stream":"public.t","int64":-}"#,
        #"{"_stream":"public.t","bool":tru}"#,
    ]

    @Test("hand-written rows: each reads to the same batch, or fails with the same message, by both paths")
    func handWritten() {
        for line in Self.lines { compare(Array(line.utf8)) }
        // Bytes no string literal holds: invalid UTF-8, a raw control character.
        compare(Array(#"{"_stream":"public.t","string":"a"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8))
        compare(Array(#"{"_stream":"public.t","string":"a"#.utf8) + [0x01] + Array(#""}"#.utf8))
    }

    @Test("rows with random bytes changed, removed or added: both paths agree on every one")
    func mutated() {
        var random = SplitMix64(state: 0x5EED_1234)
        let alphabet = Array(#"{}[]":,\-+.eE0123456789 tfnulx_aé"#.utf8) + [0x00, 0x80, 0xFF]
        for _ in 0..<20_000 {
            var line = Array(Self.lines[Int.random(in: 0..<Self.lines.count, using: &random)].utf8)
            for _ in 0..<Int.random(in: 1...3, using: &random) where !line.isEmpty {
                let at = Int.random(in: 0..<line.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: line[at] = alphabet.randomElement(using: &random)!
                case 1: line.remove(at: at)
                default: line.insert(alphabet.randomElement(using: &random)!, at: at)
                }
            }
            compare(line)
        }
    }

    @Test("a batch of fast-path rows is the batch the parse makes, nulls and column order included")
    func wholeBatch() throws {
        var fast = JSONLinesRowReader(catalog: Self.catalog, batchSize: 4)
        var slow = JSONLinesRowReader(catalog: Self.catalog, batchSize: 4, fastPath: false)
        var accepted = 0
        for line in Self.lines {
            let bytes = Array(line.utf8)
            guard let (stream, _) = try? slow.prepare(bytes, 0..<bytes.count, maxBatchBytes: 1 << 20), stream == 0,
                  (try? slow.commit(bytes)) != nil else { continue }
            _ = try fast.prepare(bytes, 0..<bytes.count, maxBatchBytes: 1 << 20)
            try fast.commit(bytes)
            accepted += 1
        }
        #expect(accepted > 10)
        var batch = fast.takeBatch(0)
        #expect(Self.rendered(batch) == Self.rendered(slow.takeBatch(0)))
        try batch.validate(against: Self.schema)
    }

    /// The rows of `batch` as `read` writes them (equal floats, NaN included, render equal).
    private static func rendered(_ batch: RecordBatch) -> String {
        guard let schema = catalog.streams.first(where: { $0.schema.stream == batch.stream })?.schema else { return "" }
        var out: [UInt8] = []
        BatchJSONRenderer(schema: schema).render(batch, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Reads `line` alone through both paths and expects the same batch or the same message,
    /// and a fast-path bound no smaller than the parsed row's size.
    private func compare(_ line: [UInt8]) {
        let text = String(decoding: line, as: UTF8.self)
        let fast = read(line, fastPath: true), slow = read(line, fastPath: false)
        switch (fast, slow) {
        case (.success(let fastRow), .success(let slowRow)):
            #expect(Self.rendered(fastRow.batch) == Self.rendered(slowRow.batch), "\(text)")
            #expect(fastRow.stream == slowRow.stream, "\(text)")
            #expect(fastRow.bytes >= slowRow.bytes, "\(text): bound \(fastRow.bytes) < \(slowRow.bytes)")
        case (.failure(let fastProblem), .failure(let slowProblem)):
            #expect(fastProblem.message == slowProblem.message, "\(text)")
        default:
            Issue.record("the paths disagree on \(text): fast \(fast), parse \(slow)")
        }
    }

    private struct ReadRow {
        var stream: Int
        var bytes: Int
        var batch: RecordBatch
    }

    private func read(_ line: [UInt8], fastPath: Bool) -> Result<ReadRow, JSONLinesRowReader.Problem> {
        var reader = JSONLinesRowReader(catalog: Self.catalog, batchSize: 1, fastPath: fastPath)
        do throws(JSONLinesRowReader.Problem) {
            let (stream, bytes) = try reader.prepare(line, 0..<line.count, maxBatchBytes: 1 << 20)
            try reader.commit(line)
            return .success(ReadRow(stream: stream, bytes: bytes, batch: reader.takeBatch(stream)))
        } catch {
            return .failure(error)
        }
    }
}
