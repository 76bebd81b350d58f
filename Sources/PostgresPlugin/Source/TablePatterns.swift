/// Include and exclude patterns for the `tables` setting, matched against each relation's schema
/// and name. `!` at the start marks an exclude. A pattern is `schema.table`, or `table` alone to
/// match the name in any schema; the two parts are split at the first dot that is neither quoted
/// nor escaped.
///
/// In each part `*` matches any run of characters and `?` any one. As in SQL, a double-quoted
/// stretch is literal (`""` in it is one quote): `"my schema"."dot.ted"`, `"!bang"`,
/// `app."report*"`. Outside quotes, a backslash makes the next character literal: `dot\.ted`,
/// `\!bang`, `a\*b`, `back\\slash`.
struct TablePatterns: Sendable {
    /// One character of a part: a literal, `*` or `?`.
    enum Token: Sendable, Equatable {
        case literal(Character)
        case anyRun
        case anyOne
    }

    /// A parsed pattern: the schema's tokens (nil: any schema) and the name's.
    struct Pattern: Sendable {
        var schema: [Token]?
        var name: [Token]
    }

    /// A pattern that does not parse: its position in the list, and why.
    struct Invalid: Error, Sendable {
        var index = 0
        var message: String
    }

    private let includes: [Pattern]
    private let excludes: [Pattern]

    /// Every relation.
    static let all = TablePatterns(includes: [], excludes: [])

    private init(includes: [Pattern], excludes: [Pattern]) {
        self.includes = includes
        self.excludes = excludes
    }

    /// Parses `patterns`; throws for the first that does not parse, with its index.
    init(_ patterns: [String]) throws(Invalid) {
        var includes: [Pattern] = [], excludes: [Pattern] = []
        for (index, text) in patterns.enumerated() {
            do throws(Invalid) {
                let exclude = text.hasPrefix("!")
                let pattern = try Self.parse(exclude ? String(text.dropFirst()) : text)
                if exclude { excludes.append(pattern) } else { includes.append(pattern) }
            } catch {
                throw Invalid(index: index, message: error.message)
            }
        }
        self.init(includes: includes, excludes: excludes)
    }

    /// Whether `schema.name` is selected.
    func matches(schema: String, name: String) -> Bool {
        let hit = { (pattern: Pattern) in
            Self.glob(pattern.name, Array(name)) && (pattern.schema.map { Self.glob($0, Array(schema)) } ?? true)
        }
        if !includes.isEmpty && !includes.contains(where: hit) { return false }
        return !excludes.contains(where: hit)
    }

    /// Splits `text` (without its `!`) into parts at unquoted, unescaped dots.
    static func parse(_ text: String) throws(Invalid) -> Pattern {
        var parts: [[Token]] = [[]]
        var quoted = false
        var escaped = false
        var characters = Array(text)[...]
        while let character = characters.popFirst() {
            if escaped {
                parts[parts.count - 1].append(.literal(character))
                escaped = false
            } else if quoted {
                if character != "\"" {
                    parts[parts.count - 1].append(.literal(character))
                } else if characters.first == "\"" {
                    characters.removeFirst()
                    parts[parts.count - 1].append(.literal("\""))
                } else {
                    quoted = false
                }
            } else {
                switch character {
                case "\\": escaped = true
                case "\"": quoted = true
                case ".": parts.append([])
                case "*": parts[parts.count - 1].append(.anyRun)
                case "?": parts[parts.count - 1].append(.anyOne)
                default: parts[parts.count - 1].append(.literal(character))
                }
            }
        }
        let shown = "\"\(text)\""
        guard !quoted else { throw Invalid(message: "\(shown) has a double quote that is not closed") }
        guard !escaped else { throw Invalid(message: "\(shown) ends with a backslash that escapes nothing") }
        guard parts.count <= 2 else {
            throw Invalid(message: "\(shown) has more than one dot between schema and table; quote a name holding a dot, e.g. \"my.schema\".\"dot.ted\", or escape the dot as \\.")
        }
        guard parts.allSatisfy({ !$0.isEmpty }) else { throw Invalid(message: "\(shown) has an empty schema or table part") }
        return parts.count == 2 ? Pattern(schema: parts[0], name: parts[1]) : Pattern(schema: nil, name: parts[0])
    }

    /// Matches `text` against `pattern`.
    static func glob(_ pattern: [Token], _ text: [Character]) -> Bool {
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < text.count {
            if pi < pattern.count, pattern[pi] == .anyOne || pattern[pi] == .literal(text[ti]) {
                pi += 1; ti += 1
            } else if pi < pattern.count && pattern[pi] == .anyRun {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < pattern.count && pattern[pi] == .anyRun { pi += 1 }
        return pi == pattern.count
    }
}
