import SluiceWire
import Testing
@testable import PluginHostKit

@Suite("plugin-host JSON Schema validator: keywords it does not implement are refused, never ignored")
struct JSONSchemaKeywordTests {
    @Test("unknown keywords and type names are listed with the path of the schema that uses them")
    func unsupported() throws {
        let schema = try JSONParser.parse(#"""
            {"type": "object", "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "t",
             "properties": {
               "host": {"type": "string", "pattern": "^[a-z]+$", "description": "d", "secret": false},
               "tags": {"type": "array", "items": {"type": "string", "const": "x"}},
               "mode": {"anyOf": [{"type": "int"}, {"$ref": "#/$defs/m"}]}},
             "additionalProperties": {"type": "string", "format": "uri"},
             "$defs": {"m": {"type": "string"}}}
            """#)
        #expect(JSONSchemaValidator.unsupportedKeywords(in: schema) == [
            "$.properties.host: pattern",
            "$.properties.tags.items: const",
            #"$.properties.mode.anyOf[0].type: unknown type "int""#,
            "$.properties.mode.anyOf[1]: $ref",
            "$: $defs",
        ])
    }

    @Test("a schema using only implemented keywords and annotations is accepted")
    func supported() throws {
        let schema = try JSONParser.parse(#"""
            {"type": "object", "required": ["a"], "additionalProperties": false, "properties": {
              "a": {"type": ["string", "null"], "minLength": 1, "maxLength": 3, "default": "x", "writeOnly": true},
              "b": {"type": "number", "minimum": 0, "maximum": 1, "exclusiveMinimum": 0, "exclusiveMaximum": 2},
              "c": {"enum": [1, 2], "examples": [1], "deprecated": false, "readOnly": false, "$comment": "c"},
              "d": {"oneOf": [true, {"allOf": [{"type": "integer"}]}]}}}
            """#)
        #expect(JSONSchemaValidator.unsupportedKeywords(in: schema).isEmpty)
    }

    @Test("the host refuses a plugin's configuration schema that uses an unimplemented keyword (exit 71)")
    func refusedSpec() {
        #expect {
            _ = try PluginSession.configSchema(of: SpecResponse(configSchemaJSON: #"{"type": "object", "properties": {"p": {"type": "string", "pattern": "a"}}}"#))
        } throws: { error in
            guard let failure = error as? HostFailure else { return false }
            return failure.exitCode == ExitCodes.pluginCrashed && failure.message.contains("$.properties.p: pattern")
        }
    }

    @Test("minLength and maxLength count characters")
    func lengths() throws {
        let validator = JSONSchemaValidator(schema: try JSONParser.parse(#"{"type": "string", "minLength": 2, "maxLength": 3}"#))
        #expect(validator.problems(of: .string("é")) == ["$: must be at least 2 characters long"])
        #expect(validator.problems(of: .string("éèê")).isEmpty)
        #expect(validator.problems(of: .string("abcd")) == ["$: must be at most 3 characters long"])
    }
}
