/*
 * The serial protocol between hilbench and the firmware. Mirrored by
 * hilbench/protocol/frames.py; change both together and bump HB_PROTOCOL_VERSION.
 *
 * Frame (before COBS): command u8 | sequence u8 | data ... | CRC-32 u32 LE of all before.
 * On the wire: COBS(frame) followed by 0x00. Replies carry command | 0x80 and the request's
 * sequence number; errors carry HB_REPLY_ERROR with {code u8, command u8}. A fault sends an
 * unsolicited HB_REPLY_FAULT frame with the stacked registers. Integers are little-endian.
 *
 * Every request's data length is checked against the command's layout and HB_MAX_DATA
 * before anything is read or written: a frame longer than 2 + HB_MAX_DATA + 4 bytes gets
 * HB_ERR_BAD_LENGTH (or HB_ERR_OVERFLOW when it does not fit the receive buffer at all).
 *
 * Replay (capability HB_CAP_REPLAY): the engine keeps its last reply. A request equal to
 * the last one answered (same command, sequence number and CRC) is answered with that
 * reply again and not executed, so the host may resend any request whose reply it lost,
 * INVOKE included. Frames that arrive damaged are answered but never become the kept reply.
 */
#ifndef HB_PROTOCOL_H
#define HB_PROTOCOL_H

#define HB_PROTOCOL_VERSION 1
#ifndef HB_MAX_DATA
#define HB_MAX_DATA 512 /* data bytes per frame; the probe link uses larger frames */
#endif
/* the largest fixed reply (PROFILE's 64 stamps) must fit; INFO's max data is a u16 */
#if HB_MAX_DATA < 256 || HB_MAX_DATA > 65535
#error "HB_MAX_DATA must be 256..65535"
#endif

enum {
  HB_CMD_INFO = 0x01,        /* -> version u8, hash[8], arena u32, input u32, output u32,
                                   max data u16, op count u32, build id (text), then
                                   0x00 and capabilities u32 (absent from older
                                   firmware: no capabilities) */
  HB_CMD_LOAD_INPUT = 0x02,  /* offset u32, bytes -> (empty); the model's inputs, in order,
                                   are one byte space */
  HB_CMD_INVOKE = 0x03,      /* count u16 -> status u8, cycles of the last u32, total u32 */
  HB_CMD_READ_OUTPUT = 0x04, /* offset u32, length u16 -> bytes, up to the end of the output
                                   holding offset (several outputs are one byte space) */
  HB_CMD_STATS = 0x05,       /* -> stack size u32, stack peak u32, last cycles u32,
                                   invokes u32, cycles of one profiling mark u32 */
  HB_CMD_ECHO = 0x06,        /* bytes -> the same bytes */
  HB_CMD_PROFILE = 0x07,     /* first u16, count u16 -> count u32 timestamps of the last
                                   inference: [0] start, [i + 1] after layer i */
  HB_CMD_INVOKE_UNTIL = 0x08, /* last op u16 -> as INVOKE: runs ops 0..last of the loaded
                                   input and stops, so that op last's output can be read */
  HB_CMD_READ_TENSOR = 0x09, /* op u16, offset u32, length u16 -> bytes of op's first
                                   output (valid right after INVOKE_UNTIL of that op) */
  HB_CMD_RESET_STATE = 0x0A, /* -> (empty): the model's variable tensors (op state) back
                                   to their reset values, as at boot; sent at the start of
                                   each sequence */
  HB_CMD_DEBUG_HANG = 0x70,  /* debug builds only: stop answering */
  HB_CMD_DEBUG_FAULT = 0x71, /* debug builds only: take a HardFault */
};

/*
 * Reply layouts: byte offsets of the fixed fields of each reply, and its fixed size.
 * Mirrored by the struct.Struct layouts INFO_REPLY, INVOKE_REPLY, STATS_REPLY and
 * PROFILE_STAMP (with their *_FIELDS names) in hilbench/protocol/frames.py;
 * tests/test_contracts.py checks that every HB_<REPLY>_OFF_<FIELD> here is the offset of
 * the field of that name there. main.c writes the replies through these constants only.
 */
#define HB_INFO_OFF_VERSION 0
#define HB_INFO_OFF_MODEL_HASH 1     /* 8 bytes */
#define HB_INFO_OFF_ARENA_SIZE 9
#define HB_INFO_OFF_INPUT_SIZE 13
#define HB_INFO_OFF_OUTPUT_SIZE 17
#define HB_INFO_OFF_MAX_DATA 21      /* u16 */
#define HB_INFO_OFF_OP_COUNT 23
#define HB_INFO_SIZE 27              /* the build id text follows */
#define HB_INFO_BUILD_ID_MAX 32
#define HB_INFO_CAPS_SIZE 5          /* after the build id: 0x00, capabilities u32 */

enum {
  HB_CAP_REPLAY = 0x01, /* a repeated request is answered from the kept reply */
};

#define HB_INVOKE_OFF_STATUS 0
#define HB_INVOKE_OFF_LAST_CYCLES 1
#define HB_INVOKE_OFF_INVOKES 5
#define HB_INVOKE_SIZE 9

#define HB_STATS_OFF_STACK_SIZE 0
#define HB_STATS_OFF_STACK_PEAK 4
#define HB_STATS_OFF_LAST_CYCLES 8
#define HB_STATS_OFF_INVOKES 12
#define HB_STATS_OFF_PROFILE_OVERHEAD 16
#define HB_STATS_SIZE 20

#define HB_PROFILE_OFF_STAMP 0       /* the reply is count of these */
#define HB_PROFILE_SIZE 4            /* bytes per timestamp */
#define HB_PROFILE_MAX_STAMPS 64     /* per PROFILE request */

enum {
  HB_REPLY_FLAG = 0x80,
  HB_REPLY_ERROR = 0xFF,
  HB_REPLY_FAULT = 0xFE,
};

enum {
  HB_ERR_BAD_CRC = 1,
  HB_ERR_BAD_LENGTH = 2,
  HB_ERR_UNKNOWN_COMMAND = 3,
  HB_ERR_BAD_ARGUMENT = 4,
  HB_ERR_OVERFLOW = 5,
  HB_ERR_BAD_FRAME = 6,
  HB_ERR_INVOKE_FAILED = 7,
};

#endif
