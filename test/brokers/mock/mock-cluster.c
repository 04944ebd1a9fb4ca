/*
 * mock-cluster: a librdkafka mock cluster (rdkafka_mock.h) as a child process that tests drive
 * over stdin/stdout, for fault tests that a real Kafka cannot stage on demand (a leader moved
 * to a given broker, a broker down while it keeps its leaders, N errors on the next requests
 * of one API, a slow broker).
 *
 *   usage:   mock-cluster <broker_count> [<topic>:<partitions>[:<replication_factor>] ...]
 *   stdout:  "BOOTSTRAP <host:port,...>" once the brokers listen, then one answer per command
 *   stdin:   one command per line, answered in order with "OK[ <value>]" or "ERR <reason>"
 *   exit:    0 when stdin closes (EOF), after the cluster is destroyed
 *
 * Commands (broker ids run 1..broker_count; -1 means every broker where the header allows it;
 * error codes are Kafka's numbers, librdkafka's negative internal codes are accepted too, e.g.
 * -195 = RD_KAFKA_RESP_ERR__TRANSPORT makes the broker drop the connection):
 *
 *   ping                                       OK
 *   topic <topic> <partitions> <rf>            rd_kafka_mock_topic_create
 *   leader <topic> <partition> <broker_id>     rd_kafka_mock_partition_set_leader (-1: none)
 *   follower <topic> <partition> <broker_id>   rd_kafka_mock_partition_set_follower
 *   follower_wmarks <topic> <partition> <lo> <hi>
 *                                              rd_kafka_mock_partition_set_follower_wmarks
 *   down <broker_id> / up <broker_id>          rd_kafka_mock_broker_set_down / _set_up
 *   rtt <broker_id> <ms>                       rd_kafka_mock_broker_set_rtt
 *   rack <broker_id> <rack>                    rd_kafka_mock_broker_set_rack
 *   errors <api_key> <count> <code>...         rd_kafka_mock_push_request_errors_array
 *                                              (cluster-wide: the next <count> requests of
 *                                              <api_key> to any broker fail in this order)
 *   broker_errors <broker_id> <api_key> <code>:<rtt_ms>...
 *                                              rd_kafka_mock_broker_push_request_error_rtts
 *                                              (code 0 with an rtt = a delayed success)
 *   error_stack_count <broker_id> <api_key>    OK <n>  (rd_kafka_mock_broker_error_stack_cnt)
 *   clear_errors <api_key>                     rd_kafka_mock_clear_request_errors
 *   topic_error <topic> <code>                 rd_kafka_mock_topic_set_error (Metadata only)
 *   coordinator <transaction|group> <key> <broker_id>
 *                                              rd_kafka_mock_coordinator_set
 *   apiversion <api_key> <min> <max>           rd_kafka_mock_set_apiversion (-1 -1: disabled)
 *
 * Why a line protocol on a child process rather than a Node native addon: no node-gyp in the
 * test path, a crash cannot take the mocha process down, and closing stdin always ends it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_ARGS 256

static rd_kafka_mock_cluster_t *mcluster;

/* Parses a whole token as a base-10 integer in [min, max]; 0 on success. */
static int parse_long(const char *token, long min, long max, long *out) {
        char *end;
        long value;
        errno = 0;
        value = strtol(token, &end, 10);
        if (errno != 0 || end == token || *end != '\0' || value < min || value > max)
                return -1;
        *out = value;
        return 0;
}

static void answer_ok(void) {
        fputs("OK\n", stdout);
        fflush(stdout);
}

static void answer_err(const char *reason) {
        printf("ERR %s\n", reason);
        fflush(stdout);
}

static void answer_kafka(rd_kafka_resp_err_t err) {
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                answer_ok();
        } else {
                printf("ERR %s (%d): %s\n", rd_kafka_err2name(err), (int)err,
                       rd_kafka_err2str(err));
                fflush(stdout);
        }
}

/* Parses an integer argument, or answers "ERR bad <what> ..." and returns -1. */
static int int_arg(const char *token, long min, long max, const char *what, long *out) {
        if (parse_long(token, min, max, out) == 0)
                return 0;
        printf("ERR bad %s '%s' (expected an integer in [%ld, %ld])\n", what, token, min,
               max);
        fflush(stdout);
        return -1;
}

static int expect_args(int argc, int expected, const char *usage) {
        if (argc == expected)
                return 0;
        printf("ERR usage: %s\n", usage);
        fflush(stdout);
        return -1;
}

static void run_command(int argc, char **argv) {
        const char *cmd = argv[0];
        long a, b, c, d;

        if (!strcmp(cmd, "ping")) {
                answer_ok();
        } else if (!strcmp(cmd, "topic")) {
                if (expect_args(argc, 4, "topic <topic> <partitions> <replication_factor>") ||
                    int_arg(argv[2], 1, INT_MAX, "partitions", &a) ||
                    int_arg(argv[3], 1, INT_MAX, "replication_factor", &b))
                        return;
                answer_kafka(rd_kafka_mock_topic_create(mcluster, argv[1], (int)a, (int)b));
        } else if (!strcmp(cmd, "leader") || !strcmp(cmd, "follower")) {
                if (expect_args(argc, 4, "leader|follower <topic> <partition> <broker_id>") ||
                    int_arg(argv[2], 0, INT32_MAX, "partition", &a) ||
                    int_arg(argv[3], -1, INT32_MAX, "broker_id", &b))
                        return;
                answer_kafka(cmd[0] == 'l'
                                 ? rd_kafka_mock_partition_set_leader(mcluster, argv[1],
                                                                      (int32_t)a, (int32_t)b)
                                 : rd_kafka_mock_partition_set_follower(
                                       mcluster, argv[1], (int32_t)a, (int32_t)b));
        } else if (!strcmp(cmd, "follower_wmarks")) {
                if (expect_args(argc, 5, "follower_wmarks <topic> <partition> <lo> <hi>") ||
                    int_arg(argv[2], 0, INT32_MAX, "partition", &a) ||
                    int_arg(argv[3], -1, LONG_MAX, "lo", &b) ||
                    int_arg(argv[4], -1, LONG_MAX, "hi", &c))
                        return;
                answer_kafka(rd_kafka_mock_partition_set_follower_wmarks(
                    mcluster, argv[1], (int32_t)a, (int64_t)b, (int64_t)c));
        } else if (!strcmp(cmd, "down") || !strcmp(cmd, "up")) {
                if (expect_args(argc, 2, "down|up <broker_id>") ||
                    int_arg(argv[1], -1, INT32_MAX, "broker_id", &a))
                        return;
                answer_kafka(cmd[0] == 'd'
                                 ? rd_kafka_mock_broker_set_down(mcluster, (int32_t)a)
                                 : rd_kafka_mock_broker_set_up(mcluster, (int32_t)a));
        } else if (!strcmp(cmd, "rtt")) {
                if (expect_args(argc, 3, "rtt <broker_id> <ms>") ||
                    int_arg(argv[1], -1, INT32_MAX, "broker_id", &a) ||
                    int_arg(argv[2], 0, INT_MAX, "ms", &b))
                        return;
                answer_kafka(rd_kafka_mock_broker_set_rtt(mcluster, (int32_t)a, (int)b));
        } else if (!strcmp(cmd, "rack")) {
                if (expect_args(argc, 3, "rack <broker_id> <rack>") ||
                    int_arg(argv[1], -1, INT32_MAX, "broker_id", &a))
                        return;
                answer_kafka(rd_kafka_mock_broker_set_rack(mcluster, (int32_t)a, argv[2]));
        } else if (!strcmp(cmd, "errors")) {
                rd_kafka_resp_err_t errors[MAX_ARGS];
                int i;
                if (argc < 4) {
                        answer_err("usage: errors <api_key> <count> <code>...");
                        return;
                }
                if (int_arg(argv[1], 0, INT16_MAX, "api_key", &a) ||
                    int_arg(argv[2], 1, MAX_ARGS, "count", &b))
                        return;
                if (b != argc - 3) {
                        printf("ERR count %ld does not match the %d codes given\n", b,
                               argc - 3);
                        fflush(stdout);
                        return;
                }
                for (i = 0; i < b; i++) {
                        if (int_arg(argv[3 + i], INT16_MIN, INT16_MAX, "code", &c))
                                return;
                        errors[i] = (rd_kafka_resp_err_t)c;
                }
                rd_kafka_mock_push_request_errors_array(mcluster, (int16_t)a, (size_t)b,
                                                        errors);
                answer_ok();
        } else if (!strcmp(cmd, "broker_errors")) {
                long codes[MAX_ARGS], rtts[MAX_ARGS];
                int i, n = argc - 3;
                if (argc < 4) {
                        answer_err("usage: broker_errors <broker_id> <api_key> <code>:<rtt_ms>...");
                        return;
                }
                if (int_arg(argv[1], 0, INT32_MAX, "broker_id", &a) ||
                    int_arg(argv[2], 0, INT16_MAX, "api_key", &b))
                        return;
                /* Validate every tuple first so a bad one pushes nothing. */
                for (i = 0; i < n; i++) {
                        char *colon = strchr(argv[3 + i], ':');
                        if (!colon) {
                                printf("ERR bad tuple '%s' (expected <code>:<rtt_ms>)\n",
                                       argv[3 + i]);
                                fflush(stdout);
                                return;
                        }
                        *colon = '\0';
                        if (int_arg(argv[3 + i], INT16_MIN, INT16_MAX, "code", &codes[i]) ||
                            int_arg(colon + 1, 0, INT_MAX, "rtt_ms", &rtts[i]))
                                return;
                }
                /* The call is variadic; one tuple per call appends in the same order
                 * (rdkafka_mock.c grows the broker's errstack at its end). */
                for (i = 0; i < n; i++) {
                        rd_kafka_resp_err_t err = rd_kafka_mock_broker_push_request_error_rtts(
                            mcluster, (int32_t)a, (int16_t)b, 1, (rd_kafka_resp_err_t)codes[i],
                            (int)rtts[i]);
                        if (err) {
                                answer_kafka(err);
                                return;
                        }
                }
                answer_ok();
        } else if (!strcmp(cmd, "error_stack_count")) {
                size_t count = 0;
                rd_kafka_resp_err_t err;
                if (expect_args(argc, 3, "error_stack_count <broker_id> <api_key>") ||
                    int_arg(argv[1], 0, INT32_MAX, "broker_id", &a) ||
                    int_arg(argv[2], 0, INT16_MAX, "api_key", &b))
                        return;
                err = rd_kafka_mock_broker_error_stack_cnt(mcluster, (int32_t)a, (int16_t)b,
                                                           &count);
                if (err) {
                        answer_kafka(err);
                        return;
                }
                printf("OK %zu\n", count);
                fflush(stdout);
        } else if (!strcmp(cmd, "clear_errors")) {
                if (expect_args(argc, 2, "clear_errors <api_key>") ||
                    int_arg(argv[1], 0, INT16_MAX, "api_key", &a))
                        return;
                rd_kafka_mock_clear_request_errors(mcluster, (int16_t)a);
                answer_ok();
        } else if (!strcmp(cmd, "topic_error")) {
                if (expect_args(argc, 3, "topic_error <topic> <code>") ||
                    int_arg(argv[2], INT16_MIN, INT16_MAX, "code", &a))
                        return;
                rd_kafka_mock_topic_set_error(mcluster, argv[1], (rd_kafka_resp_err_t)a);
                answer_ok();
        } else if (!strcmp(cmd, "coordinator")) {
                if (expect_args(argc, 4, "coordinator <transaction|group> <key> <broker_id>") ||
                    int_arg(argv[3], -1, INT32_MAX, "broker_id", &a))
                        return;
                answer_kafka(rd_kafka_mock_coordinator_set(mcluster, argv[1], argv[2],
                                                           (int32_t)a));
        } else if (!strcmp(cmd, "apiversion")) {
                if (expect_args(argc, 4, "apiversion <api_key> <min> <max>") ||
                    int_arg(argv[1], 0, INT16_MAX, "api_key", &a) ||
                    int_arg(argv[2], -1, INT16_MAX, "min", &c) ||
                    int_arg(argv[3], -1, INT16_MAX, "max", &d))
                        return;
                answer_kafka(rd_kafka_mock_set_apiversion(mcluster, (int16_t)a, (int16_t)c,
                                                          (int16_t)d));
        } else {
                printf("ERR unknown command '%s'\n", cmd);
                fflush(stdout);
        }
}

/* "name:partitions[:rf]" → creates the topic; 0 on success, else prints why to stderr. */
static int create_topic_arg(char *spec) {
        char *first = strchr(spec, ':');
        char *second;
        long partitions, rf = 1;
        rd_kafka_resp_err_t err;
        if (!first || first == spec) {
                fprintf(stderr, "mock-cluster: bad topic '%s' (expected name:partitions[:rf])\n",
                        spec);
                return -1;
        }
        *first = '\0';
        second = strchr(first + 1, ':');
        if (second)
                *second = '\0';
        if (parse_long(first + 1, 1, INT_MAX, &partitions) != 0 ||
            (second && parse_long(second + 1, 1, INT_MAX, &rf) != 0)) {
                fprintf(stderr, "mock-cluster: bad partition count or rf for topic '%s'\n",
                        spec);
                return -1;
        }
        err = rd_kafka_mock_topic_create(mcluster, spec, (int)partitions, (int)rf);
        if (err) {
                fprintf(stderr, "mock-cluster: creating topic '%s' failed: %s\n", spec,
                        rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

int main(int argc, char **argv) {
        char errstr[512];
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        long broker_count;
        char *line = NULL;
        size_t line_cap = 0;
        int i;

        if (argc < 2 || parse_long(argv[1], 1, 64, &broker_count) != 0) {
                fprintf(stderr,
                        "usage: %s <broker_count 1..64> [<topic>:<partitions>[:<rf>] ...]\n",
                        argv[0]);
                return 2;
        }

        /* The mock cluster needs an rd_kafka_t for its bookkeeping (rdkafka_mock.h); an idle
         * producer with no bootstrap servers owns it and never connects anywhere. */
        conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
                fprintf(stderr, "mock-cluster: %s\n", errstr);
                return 1;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "mock-cluster: rd_kafka_new failed: %s\n", errstr);
                return 1;
        }
        mcluster = rd_kafka_mock_cluster_new(rk, (int)broker_count);
        if (!mcluster) {
                fprintf(stderr, "mock-cluster: rd_kafka_mock_cluster_new failed\n");
                rd_kafka_destroy(rk);
                return 1;
        }
        for (i = 2; i < argc; i++) {
                if (create_topic_arg(argv[i]) != 0) {
                        rd_kafka_mock_cluster_destroy(mcluster);
                        rd_kafka_destroy(rk);
                        return 1;
                }
        }

        printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
        fflush(stdout);

        /* The brokers run on librdkafka's own threads; this thread only serves commands. */
        while (getline(&line, &line_cap, stdin) != -1) {
                char *args[MAX_ARGS];
                int n = 0;
                char *save = NULL;
                char *token = strtok_r(line, " \t\r\n", &save);
                while (token && n < MAX_ARGS) {
                        args[n++] = token;
                        token = strtok_r(NULL, " \t\r\n", &save);
                }
                if (n == 0) {
                        answer_err("empty command");
                } else if (token) {
                        answer_err("too many arguments");
                } else {
                        run_command(n, args);
                }
        }

        free(line);
        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        return 0;
}
