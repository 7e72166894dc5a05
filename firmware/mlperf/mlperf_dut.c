/*
 * hilbench's firmware speaking the MLPerf Tiny DUT protocol (the EEMBC ULPMark-ML command
 * set) instead of hilbench's binary frames, selected at build time (--protocol mlperf).
 *
 * Commands are ASCII, at most HB_MLPERF_COMMAND_MAX characters, ended by '%'; every reply
 * line ends "\r\n" and every reply ends with "m-ready". Errors are "e-[...]" lines, after
 * which the DUT keeps answering.
 *   name                -> m-name-dut-[...]
 *   profile             -> m-profile-[ulp-mlperf], m-model-[<model id>]
 *   db load N           -> m-[Expecting N bytes]   (N must be the model's input size)
 *   db <hex>            -> (m-load-done once N bytes arrived)   any even number of digits
 *   infer N W           -> m-warmup-start-W, m-warmup-done, m-infer-start-N,
 *                          m-lap-us-T, (N timed inferences), m-lap-us-T, m-infer-done,
 *                          m-results-[v0,v1,...]
 *   results             -> m-results-[...] of the last inference
 * At boot: m-timestamp-mode-performance, m-init-done, m-ready.
 */
#include <string.h>
#include "hb_board.h"
#include "hb_link.h"
#include "hb_mlperf.h"
#include "hb_model.h"
#include "hb_dut_layers.h"

#define HB_MLPERF_COMMAND_MAX 80
#define HB_MLPERF_COUNT_MAX 100000000u /* inferences per command: keeps the parse in 32 bits */

static char command[HB_MLPERF_COMMAND_MAX + 1];
static uint32_t db_expected; /* 0: no `db load` yet */
static uint32_t db_received;
static int have_results;

static void line(const char *text) {
  hb_mlperf_puts(text);
  hb_mlperf_puts("\r\n");
}

static void error(const char *text) {
  hb_mlperf_puts("e-[");
  hb_mlperf_puts(text);
  line("]");
}

static void counted(const char *prefix, uint64_t value) {
  hb_mlperf_puts(prefix);
  hb_mlperf_put_u64(value);
  hb_mlperf_puts("\r\n");
}

/* The next space-separated token of *cursor (NUL-terminated in place), or 0. */
static char *token(char **cursor) {
  char *start = *cursor, *end;
  while (*start == ' ') ++start;
  if (*start == '\0') return 0;
  for (end = start; *end != '\0' && *end != ' '; ++end) {
  }
  if (*end != '\0') *end++ = '\0';
  *cursor = end;
  return start;
}

/* A decimal count in 0..HB_MLPERF_COUNT_MAX; -1 for anything else. */
static int32_t count_of(const char *text) {
  uint32_t value = 0;
  if (text == 0 || *text == '\0') return -1;
  for (; *text; ++text) {
    if (*text < '0' || *text > '9') return -1;
    value = value * 10u + (uint32_t)(*text - '0');
    if (value > HB_MLPERF_COUNT_MAX) return -1;
  }
  return (int32_t)value;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void db_load(const char *size_text) {
  const int32_t size = count_of(size_text);
  db_expected = 0;
  db_received = 0;
  have_results = 0;
  if (size < 0) {
    error("db load needs a byte count");
    return;
  }
  if ((uint32_t)size != hb_model_input_size) {
    hb_mlperf_puts("e-[db load ");
    hb_mlperf_put_u64((uint32_t)size);
    hb_mlperf_puts(" bytes: the model's input is ");
    hb_mlperf_put_u64(hb_model_input_size);
    line(" bytes]");
    return;
  }
  db_expected = (uint32_t)size;
  hb_mlperf_puts("m-[Expecting ");
  hb_mlperf_put_u64(db_expected);
  line(" bytes]");
}

static void db_data(const char *hex) {
  const size_t digits = strlen(hex);
  size_t i;
  if (db_expected == 0) {
    error("db data before db load");
    return;
  }
  if (digits == 0 || digits % 2 != 0) {
    error("db data needs an even number of hex digits");
    return;
  }
  for (i = 0; i < digits; ++i) {
    if (hex_digit(hex[i]) < 0) {
      error("db data is not hexadecimal");
      return;
    }
  }
  if (digits / 2 > db_expected - db_received) {
    hb_mlperf_puts("e-[db data overruns the load: ");
    hb_mlperf_put_u64(db_expected - db_received);
    line(" bytes were left]");
    return;
  }
  for (i = 0; i < digits; i += 2)
    hb_mlperf_db[db_received++] = (uint8_t)(hex_digit(hex[i]) << 4 | hex_digit(hex[i + 1]));
  if (db_received == db_expected) line("m-load-done");
}

/* The loaded vector into the model's input(s): before every inference, because the
 * memory plan lets later layers reuse the input's bytes (as TFLM's does). */
static void copy_input(void) {
  uint32_t offset = 0;
  while (offset < hb_model_input_size) {
    uint32_t contiguous;
    uint8_t *target = hb_model_input_span(offset, &contiguous);
    const uint32_t left = hb_model_input_size - offset;
    const uint32_t part = contiguous < left ? contiguous : left;
    memcpy(target, hb_mlperf_db + offset, part);
    offset += part;
  }
}

static void results(void) {
  uint32_t k, offset = 0, first = 1;
  hb_mlperf_puts("m-results-[");
  for (k = 0; k < hb_mlperf_output_count; ++k) {
    const hb_mlperf_output *output = &hb_mlperf_outputs[k];
    uint32_t i = 0;
    while (i < output->size) {
      uint32_t contiguous, j;
      const int8_t *values = (const int8_t *)hb_model_output_span(offset, &contiguous);
      for (j = 0; j < contiguous && i < output->size; ++j, ++i, ++offset) {
        if (!first) hb_link_putc(',');
        first = 0;
        hb_mlperf_put_fixed(hb_mlperf_scaled(values[j], output), output->decimals);
      }
    }
  }
  line("]");
}

static int invoke(uint32_t count) {
  uint32_t i;
  for (i = 0; i < count; ++i) {
    hb_status status;
    copy_input();
    status = hb_model_invoke();
    if (status != HB_OK) {
      hb_mlperf_puts("e-[inference failed with status ");
      hb_mlperf_put_u64((uint32_t)status);
      line("]");
      have_results = 0;
      return 0;
    }
  }
  return 1;
}

static void infer(const char *count_text, const char *warmup_text) {
  const int32_t count = count_text ? count_of(count_text) : 1;
  const int32_t warmup = warmup_text ? count_of(warmup_text) : 0;
  uint64_t start, end;
  if (count < 1 || warmup < 0) {
    error("infer needs an inference count >= 1 and a warm-up count >= 0");
    return;
  }
  if (db_expected == 0 || db_received != db_expected) {
    error("infer before a complete db load");
    return;
  }
  counted("m-warmup-start-", (uint32_t)warmup);
  if (!invoke((uint32_t)warmup)) return;
  line("m-warmup-done");
  counted("m-infer-start-", (uint32_t)count);
  start = hb_mlperf_ticks();
  counted("m-lap-us-", hb_mlperf_ticks_to_us(start));
  if (!invoke((uint32_t)count)) return;
  end = hb_mlperf_ticks();
  counted("m-lap-us-", hb_mlperf_ticks_to_us(end));
  line("m-infer-done");
  have_results = 1;
  results();
}

static void dispatch(char *text) {
  char *cursor = text;
  const char *name = token(&cursor);
  if (name == 0) {
    /* an empty command: nothing but m-ready */
  } else if (strcmp(name, "name") == 0) {
    hb_mlperf_puts("m-name-dut-[");
    hb_mlperf_puts(hb_mlperf_dut_name);
    line("]");
  } else if (strcmp(name, "profile") == 0) {
    line("m-profile-[ulp-mlperf]");
    hb_mlperf_puts("m-model-[");
    hb_mlperf_puts(hb_mlperf_model_id);
    line("]");
  } else if (strcmp(name, "db") == 0) {
    const char *what = token(&cursor);
    if (what == 0) error("db needs 'load N' or hex data");
    else if (strcmp(what, "load") == 0) db_load(token(&cursor));
    else db_data(what);
  } else if (strcmp(name, "infer") == 0) {
    const char *count = token(&cursor);
    infer(count, token(&cursor));
  } else if (strcmp(name, "results") == 0) {
    if (have_results) results();
    else error("no results: run infer first");
  } else {
    error("unknown command");
  }
  line("m-ready");
}

void hb_report_fault(const uint32_t *frame, uint32_t exc_return) {
  (void)exc_return;
  hb_mlperf_puts("e-[hardfault pc=");
  hb_mlperf_put_hex32(frame[6]);
  hb_mlperf_puts(" cfsr=");
  hb_mlperf_put_hex32(*(volatile uint32_t *)0xE000ED28u);
  line("]");
  for (;;) {
  }
}

int main(void) {
  uint32_t length = 0;
  int overlong = 0;
  hb_board_init();
  hb_link_init();
  hb_mlperf_timer_init();
  hb_profile_calibrate(); /* the layer marks the model calls keep working as in hilbench's app */
  line("m-timestamp-mode-performance");
  line("m-init-done");
  line("m-ready");
  for (;;) {
    const char c = (char)hb_link_getc();
    if (c == '%') {
      command[length] = '\0';
      if (overlong) {
        error("command longer than 80 characters");
        line("m-ready");
      } else {
        dispatch(command);
      }
      length = 0;
      overlong = 0;
    } else if (c == '\r' || c == '\n' || c == '\0') {
      /* line ends from a terminal, and the runner's NULs, are not part of a command */
    } else if (length < HB_MLPERF_COMMAND_MAX) {
      command[length++] = c;
    } else {
      overlong = 1;
    }
  }
}
