import SluiceWire

/// Where a stream's table lands: its schema and table name, rendered from the destination's
/// `schema_template` and `table_name_template` (placeholders `{namespace}` and `{name}`).
struct TableNaming: Sendable {
    /// A placeholder of the naming templates.
    enum Placeholder: String, CaseIterable, Sendable {
        case namespace, name
    }

    /// `schema`: where streams land without `schema_template`, where `{namespace}` points for a
    /// stream without a namespace, and where `_sluice_state` is kept.
    var defaultSchema: String
    /// nil: every stream lands in `defaultSchema`.
    var schemaTemplate: String?
    var tableTemplate: String

    /// The schema and (shortened) table name of `stream`.
    func target(of stream: StreamID) -> TableTarget {
        let schema = schemaTemplate.map { Identifiers.shortened(render($0, stream)) } ?? defaultSchema
        return TableTarget(schema: schema, unshortenedTable: render(tableTemplate, stream))
    }

    /// The template with each placeholder replaced, in one pass over its scalars (a namespace
    /// or name holding `{name}` is not expanded again; names keep their exact bytes).
    private func render(_ template: String, _ stream: StreamID) -> String {
        var output = String.UnicodeScalarView()
        for piece in Self.parse(template) ?? [.text(template)] {
            switch piece {
            case .text(let text): output.append(contentsOf: text.unicodeScalars)
            case .placeholder(.namespace): output.append(contentsOf: (stream.namespace.isEmpty ? defaultSchema : stream.namespace).unicodeScalars)
            case .placeholder(.name): output.append(contentsOf: stream.name.unicodeScalars)
            }
        }
        return String(output)
    }

    private enum Piece {
        case text(String)
        case placeholder(Placeholder)
    }

    /// The template split into text and placeholders; nil when a brace is not part of a known
    /// placeholder.
    private static func parse(_ template: String) -> [Piece]? {
        var pieces: [Piece] = []
        var text = String.UnicodeScalarView()
        var scalars = template.unicodeScalars[...]
        while let scalar = scalars.first {
            if scalar == "}" { return nil }
            guard scalar == "{" else {
                text.append(scalar)
                scalars = scalars.dropFirst()
                continue
            }
            guard let close = scalars.firstIndex(of: "}"),
                  let placeholder = Placeholder(rawValue: String(String.UnicodeScalarView(scalars[scalars.index(after: scalars.startIndex)..<close]))) else { return nil }
            if !text.isEmpty { pieces.append(.text(String(text))) }
            text = String.UnicodeScalarView()
            pieces.append(.placeholder(placeholder))
            scalars = scalars[scalars.index(after: close)...]
        }
        if !text.isEmpty { pieces.append(.text(String(text))) }
        return pieces
    }

    /// Problems with a template: braces that are not a known placeholder, or an empty template.
    static func problems(in template: String) -> [String] {
        if template.isEmpty { return ["must not be empty"] }
        guard parse(template) != nil else {
            return ["may only use the placeholders " + Placeholder.allCases.map { "{\($0.rawValue)}" }.joined(separator: " and ")]
        }
        return []
    }

    /// Fails with `TABLE_NAME_COLLISION`, before any data moves, when two of `streams` would be
    /// written to one table (names compared byte for byte, as PostgreSQL does).
    func checkCollisions(_ streams: [StreamID]) throws {
        var seen: [TableTarget.Key: StreamID] = [:]
        for stream in streams {
            let target = target(of: stream)
            if let other = seen[target.key], other != stream {
                throw PluginError(category: .config, code: "TABLE_NAME_COLLISION",
                                  message: "streams \(other) and \(stream) would both be written to table \(target): set table_name_template "
                                      + "(e.g. \"{namespace}_{name}\") or schema_template (e.g. \"{namespace}\") so that each stream gets its own table",
                                  stream: stream)
            }
            seen[target.key] = stream
        }
    }
}

/// A destination table: its schema and name.
struct TableTarget: Sendable, CustomStringConvertible {
    var schema: String
    /// The rendered name before shortening to 63 bytes (derived names such as a replace
    /// stream's `_sluice_tmp` table are built from it).
    var unshortenedTable: String
    var table: String { Identifiers.shortened(unshortenedTable) }

    /// The table as a key that keeps apart what PostgreSQL keeps apart.
    struct Key: Hashable, Sendable {
        var schema: ExactName
        var table: ExactName
    }

    var key: Key { Key(schema: ExactName(schema), table: ExactName(table)) }
    var description: String { "\(schema).\(table)" }
}
