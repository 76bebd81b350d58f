import Testing
import SluiceWire

@Suite("A list of lists is refused when decoded")
struct ListOfListTests {
    private let nested = StreamSchema(stream: StreamID(namespace: "s", name: "t"),
                                      columns: [Column(name: "matrix", type: LogicalType(.list, elementKind: .list))])

    @Test("a Schema message with a list-of-list column is INVALID_MESSAGE")
    func schemaMessage() {
        let payload = WireCodec.encode(PluginMessage.schema(nested))
        let error = #expect(throws: ProtocolError.self) { try WireCodec.decodePluginMessage(payload) }
        #expect(error?.code == .invalidMessage)
        #expect(error?.message.contains("one-dimensional") == true)
    }

    @Test("a Write request whose catalog has a list-of-list column is INVALID_MESSAGE")
    func writeRequest() {
        let catalog = ConfiguredCatalog(streams: [ConfiguredStream(schema: nested, writeMode: .append)])
        let payload = WireCodec.encode(HostMessage.write(WriteRequest(configJSON: "{}", catalog: catalog)))
        let error = #expect(throws: ProtocolError.self) { try WireCodec.decodeHostMessage(payload) }
        #expect(error?.code == .invalidMessage)
    }

    @Test("a list of a scalar kind still decodes")
    func oneDimensional() throws {
        let flat = StreamSchema(stream: nested.stream, columns: [Column(name: "tags", type: .list(of: .string))])
        #expect(try WireCodec.decodePluginMessage(WireCodec.encode(PluginMessage.schema(flat))) == .schema(flat))
    }
}
