import SluiceWire
import Testing
import PluginHostKit

/// `JSONLines`, PluginHostKit's public rendering and reading of JSON Lines rows (what
/// `sluice-bench jsonl` measures): what it renders reads back as the same batches, cut where
/// `write --input` cuts them, and a bad line is named.
@Suite("plugin-host JSON Lines facade: render, read back, cut by frame, name the bad line")
struct JSONLinesTests {
    private static let schema = StreamSchema(
        stream: StreamID(namespace: "public", name: "t"),
        columns: [Column(name: "id", type: LogicalType(.int64), nullable: false), Column(name: "name", type: LogicalType(.string)),
                  Column(name: "tags", type: .list(of: .string))],
        primaryKey: ["id"])
    private static let catalog = ConfiguredCatalog(streams: [ConfiguredStream(schema: schema)])

    private static func batch(_ ids: Range<Int>) -> RecordBatch {
        var builders = schema.columns.map { ColumnBuilder(type: $0.type) }
        for id in ids {
            builders[0].append(int64: Int64(id))
            if id % 3 == 0 { builders[1].appendNull() } else { builders[1].append(string: "name \"\(id)\" é\n") }
            builders[2].appendList { tags in for tag in 0 ..< id % 3 { tags.append(string: "t\(tag)") } }
        }
        return RecordBatch(stream: schema.stream, rowCount: ids.count, columns: builders.map { $0.finish() })
    }

    @Test("rendered batches read back equal, in batches of batchSize rows, blank lines skipped")
    func roundTrip() throws {
        var text: [UInt8] = []
        JSONLines.render(Self.batch(0 ..< 5), schema: Self.schema, to: &text)
        text += Array(" \t\r\n".utf8)
        JSONLines.render(Self.batch(5 ..< 7), schema: Self.schema, to: &text)
        let read = try JSONLines.read(text, catalog: Self.catalog, batchSize: 3)
        #expect(read == [Self.batch(0 ..< 3), Self.batch(3 ..< 6), Self.batch(6 ..< 7)])
    }

    @Test("a batch is cut before the row that would take it over the frame size")
    func cutByFrame() throws {
        var text: [UInt8] = []
        JSONLines.render(Self.batch(0 ..< 400), schema: Self.schema, to: &text)
        let read = try JSONLines.read(text, catalog: Self.catalog, batchSize: 10_000, maxFrameSize: 4096)
        #expect(read.count > 1)
        #expect(read.map(\.rowCount).reduce(0, +) == 400)
        var first = 0
        for batch in read {
            #expect(WireCodec.encode(HostMessage.records(batch)).count <= 4096)
            #expect(batch == Self.batch(first ..< first + batch.rowCount))
            first += batch.rowCount
        }
    }

    @Test("a line that is not a row of the catalog fails naming its line")
    func badLine() {
        let text = Array("{\"_stream\":\"public.t\",\"id\":1}\n\n{\"_stream\":\"public.t\",\"id\":\"x\"}\n".utf8)
        #expect {
            try JSONLines.read(text, catalog: Self.catalog, batchSize: 10)
        } throws: { error in
            guard let error = error as? JSONLines.LineError else { return false }
            return error.line == 3 && error.message.contains("id")
        }
    }
}
