import SluiceWire
import Testing
@testable import PostgresPlugin

/// `schema_template` and `table_name_template`, without a database.
@Suite("destination naming templates")
struct TableNamingTests {
    private func naming(schema: String? = nil, table: String = "{name}") -> TableNaming {
        TableNaming(defaultSchema: "copy", schemaTemplate: schema, tableTemplate: table)
    }

    @Test("the default lands every stream in schema under its name; templates use the namespace, or schema without one")
    func rendering() {
        let orders = StreamID(namespace: "billing", name: "orders")
        #expect(naming().target(of: orders).description == "copy.orders")
        #expect(naming(table: "{namespace}_{name}").target(of: orders).description == "copy.billing_orders")
        #expect(naming(schema: "raw_{namespace}").target(of: orders).description == "raw_billing.orders")
        #expect(naming(table: "{namespace}_{name}").target(of: StreamID(name: "events")).description == "copy.copy_events")
        // A name holding a placeholder is not expanded again.
        #expect(naming(table: "{namespace}_{name}").target(of: StreamID(namespace: "{name}", name: "x")).table == "{name}_x")
        // Long rendered names are shortened to 63 bytes with a hash, keeping two apart.
        let long = String(repeating: "n", count: 70)
        let a = naming(table: "{namespace}_{name}").target(of: StreamID(namespace: long, name: "a"))
        let b = naming(table: "{namespace}_{name}").target(of: StreamID(namespace: long, name: "b"))
        #expect(a.table.utf8.count == 63 && a.table != b.table)
    }

    @Test("templates may only use {namespace} and {name}")
    func problems() {
        #expect(TableNaming.problems(in: "{namespace}_{name}").isEmpty)
        #expect(TableNaming.problems(in: "plain").isEmpty)
        for bad in ["{stream}", "{name", "name}", "{}", ""] {
            #expect(!TableNaming.problems(in: bad).isEmpty, "\(bad)")
        }
    }

    @Test("two streams that render to one table collide, named both; tables apart by schema or by bytes do not")
    func collisions() throws {
        let streams = [StreamID(namespace: "public", name: "orders"), StreamID(namespace: "billing", name: "orders")]
        #expect(throws: PluginError.self) { try naming().checkCollisions(streams) }
        do {
            try naming().checkCollisions(streams)
        } catch let error as PluginError {
            #expect(error.code == "TABLE_NAME_COLLISION")
            #expect(error.message.contains("public.orders") && error.message.contains("billing.orders") && error.message.contains("copy.orders"))
        }
        try naming(schema: "{namespace}").checkCollisions(streams)
        try naming(table: "{namespace}_{name}").checkCollisions(streams)
        try naming().checkCollisions([StreamID(name: "caf\u{E9}"), StreamID(name: "cafe\u{301}")])
    }
}
