import SluiceProtoC

/// A protobuf-c allocator that caps the memory one unpack may hold, so a small hostile payload
/// cannot make protobuf-c allocate gigabytes (an empty repeated message costs 2 bytes on the wire
/// and ~200 bytes unpacked). Past the cap, allocation fails and the unpack returns NULL.
enum UnpackAllocator {
    /// Live bytes allowed for a payload of `payloadSize` bytes: far above what any well-formed
    /// message needs (packed booleans, the worst case of real data, take 4 bytes per wire byte).
    static func budget(forPayloadSize payloadSize: Int) -> Int { 32 * payloadSize + (4 << 20) }

    private static let headerSize = 16

    /// Runs `body` with an allocator allowing `budget` live bytes. Use the same allocator for the
    /// `*__unpack` and the matching `*__free_unpacked`, both inside `body`.
    static func with<R, E: Error>(budget: Int, _ body: (UnsafeMutablePointer<ProtobufCAllocator>) throws(E) -> R) throws(E) -> R {
        let remaining = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        remaining.initialize(to: budget)
        let allocator = UnsafeMutablePointer<ProtobufCAllocator>.allocate(capacity: 1)
        allocator.initialize(to: ProtobufCAllocator(
            alloc: { data, size in
                let remaining = data!.assumingMemoryBound(to: Int.self)
                guard size <= remaining.pointee else { return nil }
                remaining.pointee -= size
                let block = UnsafeMutableRawPointer.allocate(byteCount: UnpackAllocator.headerSize + max(size, 1), alignment: 16)
                block.storeBytes(of: size, as: Int.self)
                return block + UnpackAllocator.headerSize
            },
            free: { data, pointer in
                guard let pointer else { return }
                let block = pointer - UnpackAllocator.headerSize
                data!.assumingMemoryBound(to: Int.self).pointee += block.load(as: Int.self)
                block.deallocate()
            },
            allocator_data: UnsafeMutableRawPointer(remaining)
        ))
        defer {
            assert(remaining.pointee == budget, "an unpacked message was not freed")
            allocator.deallocate()
            remaining.deallocate()
        }
        return try body(allocator)
    }
}
