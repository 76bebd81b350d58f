import CYaml

/// The size of a YAML text once composed, read from libyaml's event stream before any tree is
/// built: its deepest nesting and, counting every alias as a full copy of its anchor's node, how
/// many nodes and scalar bytes it expands to. libyaml's parser keeps its own explicit stacks, so
/// this pass never recurses; it stops at the first limit crossed, so a hostile text ("billion
/// laughs", thousands of levels) costs no more than its own length.
struct YAMLShape {
    /// A limit the text crosses, with the line (from 1) where it does.
    enum Excess: Error, Equatable {
        case depth(line: Int)
        case nodes(line: Int)
        case scalarBytes(line: Int)
    }

    let maxDepth: Int
    let maxNodes: Int
    let maxScalarBytes: Int

    /// What one node expands to.
    private struct Size {
        var nodes = 0
        var bytes = 0
        /// Levels of collections from this node down (0 for a scalar).
        var height = 0
    }

    /// Checks `text`; a syntax error stops the pass quietly (the composer reports it).
    func check(_ text: String) throws(Excess) {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return }
        let outcome: Excess? = bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            return walk(&parser)
        }
        if let outcome { throw outcome }
    }

    private func walk(_ parser: inout yaml_parser_t) -> Excess? {
        var anchors: [String: Size] = [:]
        var open: [(anchor: String?, size: Size)] = []
        var total = Size()
        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
            defer { yaml_event_delete(&event) }
            let line = Int(event.start_mark.line) + 1
            var finished: (anchor: String?, size: Size)?
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return nil
            case YAML_DOCUMENT_START_EVENT:
                anchors = [:]
            case YAML_SEQUENCE_START_EVENT:
                open.append((Self.name(event.data.sequence_start.anchor), Size()))
                if open.count > maxDepth { return .depth(line: line) }
            case YAML_MAPPING_START_EVENT:
                open.append((Self.name(event.data.mapping_start.anchor), Size()))
                if open.count > maxDepth { return .depth(line: line) }
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard var closed = open.popLast() else { return nil }
                closed.size.nodes = Self.sum(closed.size.nodes, 1)
                closed.size.height += 1
                finished = closed
            case YAML_SCALAR_EVENT:
                let length = Int(clamping: event.data.scalar.length)
                finished = (Self.name(event.data.scalar.anchor), Size(nodes: 1, bytes: length, height: 0))
                total.nodes = Self.sum(total.nodes, 1)
                total.bytes = Self.sum(total.bytes, length)
            case YAML_ALIAS_EVENT:
                // An unknown alias is the composer's error to report.
                guard let name = Self.name(event.data.alias.anchor), let size = anchors[name] else { continue }
                if open.count + size.height > maxDepth { return .depth(line: line) }
                finished = (nil, size)
                total.nodes = Self.sum(total.nodes, size.nodes)
                total.bytes = Self.sum(total.bytes, size.bytes)
            default:
                continue
            }
            if event.type == YAML_SEQUENCE_START_EVENT || event.type == YAML_MAPPING_START_EVENT {
                total.nodes = Self.sum(total.nodes, 1)
            }
            if total.nodes > maxNodes { return .nodes(line: line) }
            if total.bytes > maxScalarBytes { return .scalarBytes(line: line) }
            guard let finished else { continue }
            if let anchor = finished.anchor { anchors[anchor] = finished.size }
            if let last = open.indices.last {
                open[last].size.nodes = Self.sum(open[last].size.nodes, finished.size.nodes)
                open[last].size.bytes = Self.sum(open[last].size.bytes, finished.size.bytes)
                open[last].size.height = max(open[last].size.height, finished.size.height)
            }
        }
    }

    /// Adds without trapping: sizes past `Int.max` stay at `Int.max`.
    private static func sum(_ a: Int, _ b: Int) -> Int {
        let (value, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : value
    }

    private static func name(_ anchor: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        anchor.map { String(cString: $0) }
    }
}

extension InputLimits {
    /// Refuses a YAML (or JSON) text that nests deeper than ``maxDepth`` or expands, through
    /// aliases, past ``maxYAMLNodes`` values or ``maxYAMLScalarBytes`` bytes.
    static func checkYAML(_ text: String, origin: String) throws(ConfigFileError) {
        do {
            try YAMLShape(maxDepth: maxDepth, maxNodes: maxYAMLNodes, maxScalarBytes: maxYAMLScalarBytes).check(text)
        } catch {
            let problem = switch error {
            case .depth(let line): "nests deeper than \(maxDepth) levels at line \(line)"
            case .nodes(let line): "expands to more than \(maxYAMLNodes) values (aliases counted as copies) at line \(line)"
            case .scalarBytes(let line): "expands to more than \(maxYAMLScalarBytes >> 20) MiB of text (aliases counted as copies) at line \(line)"
            }
            throw ConfigFileError(problems: ["\(origin) \(problem)"])
        }
    }
}
