import Testing
@testable import PluginHostKit

@Suite("plugin-host ConfigFile: YAML and JSON configurations, ${VAR} expansion, typing by the schema, and their errors")
struct ConfigFileTests {
    private static let schema = try! JSONParser.parse(#"""
        {"type": "object", "properties": {
           "host": {"type": "string"}, "port": {"type": "integer"},
           "password": {"type": "string", "secret": true}, "schemas": {"type": "array", "items": {"type": "string"}}}}
        """#)

    private func load(_ text: String, _ environment: [String: String] = [:]) throws(ConfigFileError) -> JSONValue {
        try ConfigFile(path: "test.yaml", environment: environment, schema: Self.schema).load(text: text)
    }

    @Test("YAML and the same JSON load to the same value")
    func yamlAndJSON() throws {
        let yaml = try load("host: db\nport: 5432\nschemas: [public, sales]\n")
        let json = try load(#"{"host": "db", "port": 5432, "schemas": ["public", "sales"]}"#)
        #expect(yaml == json)
        #expect(yaml == (try JSONParser.parse(#"{"host": "db", "port": 5432, "schemas": ["public", "sales"]}"#)))
    }

    @Test("${VAR} and ${VAR:-default} expand; an unquoted number from a variable is a number; a string wanted by the schema stays text")
    func expansion() throws {
        let value = try load("host: ${PGHOST}\nport: ${PGPORT}\npassword: ${PW:-12345}\n", ["PGHOST": "db.example", "PGPORT": "6543"])
        #expect(value == (try JSONParser.parse(#"{"host": "db.example", "port": 6543, "password": "12345"}"#)))
    }

    @Test("an empty file is an empty object")
    func empty() throws {
        #expect(try load("") == .object([]))
    }

    @Test("invalid YAML names the line and column, without quoting the text")
    func invalidYAML() {
        #expect {
            _ = try load("host: db\npassword: \"s3cr3t\n")
        } throws: { error in
            guard let error = error as? ConfigFileError, let problem = error.problems.first else { return false }
            return problem.hasPrefix("test.yaml is not valid YAML or JSON:") && problem.contains("line") && !problem.contains("s3cr3t")
        }
    }

    @Test("an unset variable without a default is named by its path")
    func unsetVariable() {
        #expect {
            _ = try load("host: ${NOT_SET_ANYWHERE}\n")
        } throws: { error in
            guard let error = error as? ConfigFileError else { return false }
            return error.problems.contains { $0.contains("$.host") && $0.contains("NOT_SET_ANYWHERE") }
        }
    }

    @Test("a missing file is named")
    func missingFile() {
        #expect {
            _ = try ConfigFile(path: "/nonexistent/sluice.yaml", environment: [:], schema: Self.schema).load()
        } throws: { error in
            (error as? ConfigFileError)?.problems == ["cannot read the configuration file /nonexistent/sluice.yaml: no such file"]
        }
    }

    @Test("the schema validator names the path of each problem and never quotes a value")
    func schemaProblems() throws {
        let schema = try JSONParser.parse(#"""
            {"type": "object", "required": ["host"], "additionalProperties": false,
             "properties": {"host": {"type": "string"}, "port": {"type": "integer", "minimum": 1, "maximum": 65535}}}
            """#)
        let problems = JSONSchemaValidator(schema: schema).problems(of: try JSONParser.parse(#"{"port": 70000, "hots": "s3cr3t"}"#))
        #expect(problems.contains { $0.contains("$.port") })
        #expect(problems.contains { $0.contains("hots") })
        #expect(problems.contains { $0 == #"$: missing required property "host""# })
        #expect(!problems.contains { $0.contains("s3cr3t") })
    }
}
