/* The protocol engine of the DUT library: frames in from the link, commands answered
 * against the runtime it was given (hb_dut_runtime.h). One implementation for hilbench's
 * own firmware and for users' firmware alike. */
#include <string.h>
#include "cobs.h"
#include "crc32.h"
#include "hb_board.h"
#include "hb_dut_layers.h"
#include "hb_dut_runtime.h"
#include "hb_link.h"
#include "hb_protocol.h"

#define FRAME_MAX (2 + HB_MAX_DATA + 4)
#define WIRE_MAX (FRAME_MAX + FRAME_MAX / 254 + 2)
/* error and fault notices: at most 48 data bytes, stuffed apart from the kept reply */
#define NOTICE_DATA 48
#define NOTICE_WIRE (2 + NOTICE_DATA + 4 + 2)

static uint8_t rx[WIRE_MAX];
static uint8_t tx_frame[FRAME_MAX];
static uint8_t tx_wire[WIRE_MAX]; /* the last reply, kept for a repeated request */
static uint32_t last_cycles, total_invokes;
static const hb_dut_runtime *dut;
static const uint8_t no_hash[8];
static size_t received;
static int overflowed;
/* the request tx_wire answers: command, sequence and CRC; kept_wire 0: none yet */
static size_t kept_wire;
static uint8_t kept_command, kept_sequence;
static uint32_t kept_crc;

static void put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void put_u16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
}

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_wire(const uint8_t *wire, size_t length) {
  size_t i;
  for (i = 0; i < length; ++i) hb_link_putc(wire[i]);
  hb_link_putc(0);
}

/* Frames `data` into `frame` and stuffs it into `wire`; the caller sized both for
 * `length` data bytes. Returns the stuffed length. */
static size_t encode(uint8_t command, uint8_t sequence, const uint8_t *data, uint32_t length,
                     uint8_t *frame, uint8_t *wire) {
  frame[0] = command;
  frame[1] = sequence;
  if (length) memcpy(frame + 2, data, length);
  put_u32(frame + 2 + length, hb_crc32(frame, 2 + length));
  return hb_cobs_encode(frame, 2 + length + 4, wire);
}

/* A notice outside the request/reply pairing (a damaged frame, a fault): sent from a
 * buffer of its own, so that the kept reply survives it. */
static void send_notice(uint8_t command, uint8_t sequence, const uint8_t *data,
                        uint32_t length) {
  uint8_t frame[2 + NOTICE_DATA + 4], wire[NOTICE_WIRE];
  if (length > NOTICE_DATA) length = NOTICE_DATA;
  put_wire(wire, encode(command, sequence, data, length, frame, wire));
}

static void send_damaged(uint8_t sequence, uint8_t code, uint8_t command) {
  uint8_t data[2];
  data[0] = code;
  data[1] = command;
  send_notice(HB_REPLY_ERROR, sequence, data, 2);
}

/* The reply to the request being handled; kept in tx_wire until the next one. Never more
 * than HB_MAX_DATA bytes: every caller checked its length, and this is the last guard. */
static void send_error(uint8_t sequence, uint8_t code, uint8_t command);

static void send(uint8_t command, uint8_t sequence, const uint8_t *data, uint32_t length) {
  if (length > HB_MAX_DATA) {
    send_error(sequence, HB_ERR_OVERFLOW, command);
    return;
  }
  kept_wire = encode(command, sequence, data, length, tx_frame, tx_wire);
  put_wire(tx_wire, kept_wire);
}

static void send_error(uint8_t sequence, uint8_t code, uint8_t command) {
  uint8_t data[2];
  data[0] = code;
  data[1] = command;
  send(HB_REPLY_ERROR, sequence, data, 2);
}

void hb_report_fault(const uint32_t *frame, uint32_t exc_return) {
  /* r0 r1 r2 r3 r12 lr pc xpsr, then the fault status registers */
  uint8_t data[4 * 12];
  int i;
  for (i = 0; i < 8; ++i) put_u32(data + 4 * i, frame[i]);
  put_u32(data + 32, *(volatile uint32_t *)0xE000ED28u); /* CFSR */
  put_u32(data + 36, *(volatile uint32_t *)0xE000ED2Cu); /* HFSR */
  put_u32(data + 40, *(volatile uint32_t *)0xE000ED38u); /* BFAR */
  put_u32(data + 44, exc_return);
  send_notice(HB_REPLY_FAULT, 0, data, sizeof data);
  for (;;) {
  }
}

static void handle(uint8_t command, uint8_t sequence, const uint8_t *data, uint32_t length) {
  /* the largest reply built here */
  uint8_t reply[HB_INFO_SIZE + HB_INFO_BUILD_ID_MAX + HB_INFO_CAPS_SIZE];
  switch (command) {
    case HB_CMD_INFO: {
      const char *build = dut->build_id ? dut->build_id : "";
      uint32_t shown = 0;
      while (shown < HB_INFO_BUILD_ID_MAX && build[shown] != 0) ++shown;
      reply[HB_INFO_OFF_VERSION] = HB_PROTOCOL_VERSION;
      memcpy(reply + HB_INFO_OFF_MODEL_HASH, dut->model_hash ? dut->model_hash : no_hash, 8);
      put_u32(reply + HB_INFO_OFF_ARENA_SIZE, dut->arena_bytes);
      put_u32(reply + HB_INFO_OFF_INPUT_SIZE, dut->input_bytes);
      put_u32(reply + HB_INFO_OFF_OUTPUT_SIZE, dut->output_bytes);
      put_u16(reply + HB_INFO_OFF_MAX_DATA, HB_MAX_DATA);
      put_u32(reply + HB_INFO_OFF_OP_COUNT, dut->layers);
      memcpy(reply + HB_INFO_SIZE, build, shown);
      /* after the text: older hosts show the build id up to the zero, newer ones read on */
      reply[HB_INFO_SIZE + shown] = 0;
      put_u32(reply + HB_INFO_SIZE + shown + 1, HB_CAP_REPLAY);
      send(command | HB_REPLY_FLAG, sequence, reply, HB_INFO_SIZE + shown + HB_INFO_CAPS_SIZE);
      return;
    }
    case HB_CMD_LOAD_INPUT: {
      uint32_t offset;
      if (length < 4) break;
      offset = get_u32(data);
      if (offset > dut->input_bytes || length - 4 > dut->input_bytes - offset) {
        send_error(sequence, HB_ERR_BAD_ARGUMENT, command);
        return;
      }
      data += 4;
      length -= 4;
      while (length > 0) { /* the span may cross from one model input into the next */
        uint32_t contiguous;
        uint8_t *target = dut->input_span(offset, &contiguous);
        const uint32_t part = contiguous < length ? contiguous : length;
        if (target == 0 || part == 0) { /* a runtime that breaks its span contract */
          send_error(sequence, HB_ERR_BAD_ARGUMENT, command);
          return;
        }
        memcpy(target, data, part);
        offset += part;
        data += part;
        length -= part;
      }
      send(command | HB_REPLY_FLAG, sequence, 0, 0);
      return;
    }
    case HB_CMD_INVOKE:
    case HB_CMD_INVOKE_UNTIL: {
      uint32_t count, i, last = HB_DUT_ALL_LAYERS;
      int status = 0;
      if (length != 2) break;
      count = (uint32_t)data[0] | (uint32_t)data[1] << 8;
      if (command == HB_CMD_INVOKE_UNTIL) {
        if (dut->layer_output == 0) {  /* a runtime that only runs whole inferences */
          send_error(sequence, HB_ERR_UNKNOWN_COMMAND, command);
          return;
        }
        last = count;
        count = 1;
        if (last >= dut->layers) {
          send_error(sequence, HB_ERR_BAD_ARGUMENT, command);
          return;
        }
      }
      for (i = 0; i < count && status == 0; ++i) {
        const uint32_t start = hb_board_cycles();
        status = dut->invoke_until(last);
        last_cycles = hb_board_cycles() - start;
        ++total_invokes;
      }
      if (status != 0) {
        send_error(sequence, HB_ERR_INVOKE_FAILED, command);
        return;
      }
      reply[HB_INVOKE_OFF_STATUS] = 0;
      put_u32(reply + HB_INVOKE_OFF_LAST_CYCLES, last_cycles);
      put_u32(reply + HB_INVOKE_OFF_INVOKES, total_invokes);
      send(command | HB_REPLY_FLAG, sequence, reply, HB_INVOKE_SIZE);
      return;
    }
    case HB_CMD_READ_OUTPUT: {
      uint32_t offset, size;
      if (length != 6) break;
      offset = get_u32(data);
      size = (uint32_t)data[4] | (uint32_t)data[5] << 8;
      if (size > HB_MAX_DATA || offset > dut->output_bytes ||
          size > dut->output_bytes - offset) {
        send_error(sequence, HB_ERR_BAD_ARGUMENT, command);
        return;
      }
      if (size > 0) {
        uint32_t contiguous;
        const uint8_t *source = dut->output_span(offset, &contiguous);
        if (source == 0 || contiguous == 0) {
          send_error(sequence, HB_ERR_BAD_ARGUMENT, command);
          return;
        }
        send(command | HB_REPLY_FLAG, sequence, source, contiguous < size ? contiguous : size);
      } else {
        send(command | HB_REPLY_FLAG, sequence, 0, 0);
      }
      return;
    }
    case HB_CMD_READ_TENSOR: {
      uint32_t op, offset, size, available;
      const uint8_t *tensor;
      if (length != 8) break;
      if (dut->layer_output == 0) {
        send_error(sequence, HB_ERR_UNKNOWN_COMMAND, command);
        return;
      }
      op = (uint32_t)data[0] | (uint32_t)data[1] << 8;
      offset = get_u32(data + 2);
      size = (uint32_t)data[6] | (uint32_t)data[7] << 8;
      tensor = dut->layer_output(op, &available);
      if (tensor == 0 || size > HB_MAX_DATA || offset > available || size > available - offset) {
        send_error(sequence, HB_ERR_BAD_ARGUMENT, command);
        return;
      }
      send(command | HB_REPLY_FLAG, sequence, tensor + offset, size);
      return;
    }
    case HB_CMD_STATS:
      if (length != 0) break;
      put_u32(reply + HB_STATS_OFF_STACK_SIZE, hb_stack_size());
      put_u32(reply + HB_STATS_OFF_STACK_PEAK, hb_stack_peak());
      put_u32(reply + HB_STATS_OFF_LAST_CYCLES, last_cycles);
      put_u32(reply + HB_STATS_OFF_INVOKES, total_invokes);
      put_u32(reply + HB_STATS_OFF_PROFILE_OVERHEAD, hb_profile_overhead);
      send(command | HB_REPLY_FLAG, sequence, reply, HB_STATS_SIZE);
      return;
    case HB_CMD_PROFILE: {
      uint32_t first, count, i;
      uint8_t stamps[HB_PROFILE_SIZE * HB_PROFILE_MAX_STAMPS];
      if (length != 4) break;
      first = (uint32_t)data[0] | (uint32_t)data[1] << 8;
      count = (uint32_t)data[2] | (uint32_t)data[3] << 8;
      if (count > HB_PROFILE_MAX_STAMPS || first + count > dut->layers + 1) {
        send_error(sequence, HB_ERR_BAD_ARGUMENT, command);
        return;
      }
      for (i = 0; i < count; ++i)
        put_u32(stamps + HB_PROFILE_SIZE * i + HB_PROFILE_OFF_STAMP, hb_profile_stamp(first + i));
      send(command | HB_REPLY_FLAG, sequence, stamps, HB_PROFILE_SIZE * count);
      return;
    }
    case HB_CMD_ECHO:
      if (length > HB_MAX_DATA) break;
      send(command | HB_REPLY_FLAG, sequence, data, length);
      return;
    case HB_CMD_RESET_STATE:
      if (length != 0) break;
      if (dut->reset_state == 0) {
        send_error(sequence, HB_ERR_UNKNOWN_COMMAND, command);
        return;
      }
      dut->reset_state();
      send(command | HB_REPLY_FLAG, sequence, 0, 0);
      return;
#ifdef HB_DEBUG_COMMANDS
    case HB_CMD_DEBUG_HANG:
      for (;;) {
      }
    case HB_CMD_DEBUG_FAULT: {
      void (*invalid)(void) = (void (*)(void))0xFFFFFFF0u; /* not executable: HardFault */
      invalid();
      return;
    }
#endif
    default:
      send_error(sequence, HB_ERR_UNKNOWN_COMMAND, command);
      return;
  }
  send_error(sequence, HB_ERR_BAD_LENGTH, command);
}

void hb_dut_start(void) {
  hb_board_init();
  hb_link_init();
}

void hb_dut_init_runtime(const hb_dut_runtime *runtime) {
  dut = runtime;
  hb_profile_configure(runtime->layer_stamps, runtime->layers);
  hb_profile_calibrate();
}

/* Whether the CRC-checked request in rx (length bytes) repeats the one whose reply is
 * kept: then the host lost that reply and gets it again, without a second execution. */
static int repeated(size_t length) {
  return kept_wire != 0 && rx[0] == kept_command && rx[1] == kept_sequence &&
         get_u32(rx + length - 4) == kept_crc;
}

void hb_dut_poll(void) {
  const uint8_t byte = hb_link_getc();
  size_t length;
  if (byte != 0) {
    if (received < sizeof rx) rx[received++] = byte;
    else overflowed = 1;
    return;
  }
  if (overflowed) {
    send_damaged(0xFF, HB_ERR_OVERFLOW, 0);
  } else if (received > 0) {
    length = hb_cobs_decode(rx, received, rx);
    if (length < 6) {
      send_damaged(length >= 2 ? rx[1] : 0xFF, length ? HB_ERR_BAD_LENGTH : HB_ERR_BAD_FRAME,
                   length ? rx[0] : 0);
    } else if (hb_crc32(rx, length - 4) != get_u32(rx + length - 4)) {
      send_damaged(rx[1], HB_ERR_BAD_CRC, rx[0]);
    } else if (length > FRAME_MAX) { /* stuffing overhead let it fit rx: still too long */
      send_damaged(rx[1], HB_ERR_BAD_LENGTH, rx[0]);
    } else if (repeated(length)) {
      put_wire(tx_wire, kept_wire);
    } else {
      kept_wire = 0; /* a reply that is never sent must not be replayed */
      kept_command = rx[0];
      kept_sequence = rx[1];
      kept_crc = get_u32(rx + length - 4);
      handle(rx[0], rx[1], rx + 2, (uint32_t)(length - 6));
    }
  }
  received = 0;
  overflowed = 0;
}
