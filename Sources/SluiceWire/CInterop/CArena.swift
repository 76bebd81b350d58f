import SluiceProtoC

/// Owns the C memory of one protobuf-c message tree built by hand for packing.
///
/// Everything allocated through it lives until ``CArena/with(_:)`` returns, then all of it is
/// freed at once. Small allocations are carved from shared chunks; large ones (packed column
/// vectors) get a block of their own.
struct CArena: ~Copyable {
    private static let chunkSize = 32 * 1024
    private static let alignment = 16

    private var blocks: [UnsafeMutableRawPointer] = []
    private var cursor: UnsafeMutableRawPointer?
    private var remaining = 0

    private init() {}

    /// Runs `body` with a fresh arena and frees everything it allocated when `body` returns.
    static func with<R>(_ body: (inout CArena) -> R) -> R {
        var arena = CArena()
        defer { arena.freeAll() }
        return body(&arena)
    }

    private mutating func freeAll() {
        for block in blocks { block.deallocate() }
        blocks = []
        cursor = nil
        remaining = 0
    }

    /// `byteCount` uninitialised bytes, 16-byte aligned.
    mutating func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        let size = max(Self.alignment, (byteCount + Self.alignment - 1) & ~(Self.alignment - 1))
        if size > Self.chunkSize / 4 {
            let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: Self.alignment)
            blocks.append(block)
            return block
        }
        if size > remaining {
            let block = UnsafeMutableRawPointer.allocate(byteCount: Self.chunkSize, alignment: Self.alignment)
            blocks.append(block)
            cursor = block
            remaining = Self.chunkSize
        }
        let pointer = cursor!
        cursor = pointer + size
        remaining -= size
        return pointer
    }

    /// A protobuf-c message set up by its generated `*__init` function.
    mutating func message<M>(_ initialize: (UnsafeMutablePointer<M>?) -> Void) -> UnsafeMutablePointer<M> {
        let pointer = allocate(byteCount: MemoryLayout<M>.stride).bindMemory(to: M.self, capacity: 1)
        initialize(pointer)
        return pointer
    }

    /// A bulk copy of `array`, or nil when it is empty.
    mutating func copy<T: BitwiseCopyable>(_ array: [T]) -> UnsafeMutablePointer<T>? {
        guard !array.isEmpty else { return nil }
        let raw = allocate(byteCount: array.count * MemoryLayout<T>.stride)
        array.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return raw.bindMemory(to: T.self, capacity: array.count)
    }

    /// `items` converted one by one (enums, booleans), or nil when there are none.
    mutating func map<S, T: BitwiseCopyable>(_ items: [S], _ transform: (S) -> T) -> UnsafeMutablePointer<T>? {
        guard !items.isEmpty else { return nil }
        let pointer = allocate(byteCount: items.count * MemoryLayout<T>.stride).bindMemory(to: T.self, capacity: items.count)
        for (index, item) in items.enumerated() { pointer[index] = transform(item) }
        return pointer
    }

    /// A `bytes` field holding a copy of `bytes`.
    mutating func binary(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        ProtobufCBinaryData(len: bytes.count, data: copy(bytes))
    }

    /// A NUL-terminated copy of `string` (protobuf-c's shared empty string when it is empty).
    /// C strings end at the first NUL, so a string field keeps only what comes before one.
    mutating func cString(_ string: String) -> UnsafeMutablePointer<CChar> {
        guard !string.isEmpty else { return sluice_empty_string() }
        var string = string
        return string.withUTF8 { utf8 in
            let raw = allocate(byteCount: utf8.count + 1)
            raw.copyMemory(from: utf8.baseAddress!, byteCount: utf8.count)
            raw.storeBytes(of: 0, toByteOffset: utf8.count, as: CChar.self)
            return raw.bindMemory(to: CChar.self, capacity: utf8.count + 1)
        }
    }

    /// A repeated `string` field.
    mutating func cStrings(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        guard !strings.isEmpty else { return nil }
        let pointer = allocate(byteCount: strings.count * MemoryLayout<UnsafeMutablePointer<CChar>?>.stride)
            .bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: strings.count)
        for (index, string) in strings.enumerated() { pointer[index] = cString(string) }
        return pointer
    }

    /// A repeated message field: one message per item, made by `make`.
    mutating func messages<S, M>(_ items: [S], _ make: (S, inout CArena) -> UnsafeMutablePointer<M>)
        -> UnsafeMutablePointer<UnsafeMutablePointer<M>?>? {
        guard !items.isEmpty else { return nil }
        let pointer = allocate(byteCount: items.count * MemoryLayout<UnsafeMutablePointer<M>?>.stride)
            .bindMemory(to: UnsafeMutablePointer<M>?.self, capacity: items.count)
        for (index, item) in items.enumerated() { pointer[index] = make(item, &self) }
        return pointer
    }
}
