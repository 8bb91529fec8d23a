"""Unit tests of the jobgraph module's pure helpers (no Java, no Flink).

Why: whether a JobGraph is rebuilt, and the exact argv given to Java, decide idempotence and correctness of the
per-job role; they must be pinned down without a JVM.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.streamops.flink_mesos.plugins.module_utils import jobgraph as jg
from ansible_collections.streamops.flink_mesos.plugins.module_utils.jobgraph_java import JAVA_CLASS_NAME, JAVA_SOURCE


def record(**overrides: Any) -> dict[str, Any]:
    """An input record with plausible values, overridable per test."""
    values: dict[str, Any] = dict(
        jar_sha256="a" * 64, extra_jar_sha256=[("/x/lib.jar", "b" * 64)], entry_class="com.example.Job",
        args=["--topic", "clicks"], parallelism=2, savepoint_path=None, allow_non_restored_state=False,
        job_id=None, configuration={"pipeline.max-parallelism": "128"}, flink_conf_sha256="c" * 64,
        flink_version="1.13.6",
    )
    values.update(overrides)
    return jg.input_record(**values)


def make_jar(path: Path, entries: dict[str, bytes]) -> str:
    """Write a zip with the given entries and return its path."""
    with zipfile.ZipFile(path, "w") as jar:
        for name, data in entries.items():
            jar.writestr(name, data)
    return str(path)


class TestParameterProblems:
    def test_good_parameters_pass(self) -> None:
        assert jg.parameter_problems({"parallelism": 1, "entry_class": "a.b.C", "job_id": "0" * 32}) == []

    @pytest.mark.parametrize("value", [0, -3])
    def test_parallelism_below_one_is_refused_and_named(self, value: int) -> None:
        problems = jg.parameter_problems({"parallelism": value})
        assert len(problems) == 1 and problems[0].startswith("parallelism must be 1 or more")

    @pytest.mark.parametrize("name", ["com.example.", "1abc.Job", "com/example/Job", "a b"])
    def test_bad_class_names_are_refused(self, name: str) -> None:
        assert any("entry_class" in p for p in jg.parameter_problems({"parallelism": 1, "entry_class": name}))

    def test_inner_and_dollar_class_names_are_accepted(self) -> None:
        assert jg.parameter_problems({"parallelism": 1, "entry_class": "a.Outer$Inner"}) == []

    @pytest.mark.parametrize("job_id", ["xyz", "0" * 31, "g" * 32])
    def test_job_id_must_be_32_hex(self, job_id: str) -> None:
        assert any("job_id" in p for p in jg.parameter_problems({"parallelism": 1, "job_id": job_id}))

    def test_allow_non_restored_state_needs_a_savepoint(self) -> None:
        problems = jg.parameter_problems({"parallelism": 1, "allow_non_restored_state": True})
        assert any("savepoint_path" in p for p in problems)

    def test_configuration_keys_with_equals_are_refused(self) -> None:
        assert any("configuration key" in p
                   for p in jg.parameter_problems({"parallelism": 1, "configuration": {"a=b": "1"}}))


class TestJarChecks:
    def test_class_entry_name(self) -> None:
        assert jg.class_entry_name("com.example.Job") == "com/example/Job.class"

    def test_manifest_program_class_wins_over_main_class(self) -> None:
        text = "Manifest-Version: 1.0\r\nMain-Class: a.Main\r\nprogram-class: a.Program\r\n"
        assert jg.manifest_entry_class(text) == "a.Program"

    def test_manifest_continuation_lines_are_joined(self) -> None:
        text = "Manifest-Version: 1.0\nMain-Class: com.example.very.long.packag\n e.Job\n"
        assert jg.manifest_entry_class(text) == "com.example.very.long.package.Job"

    def test_manifest_without_entry(self) -> None:
        assert jg.manifest_entry_class("Manifest-Version: 1.0\n") is None

    def test_class_present(self, tmp_path: Path) -> None:
        jar = make_jar(tmp_path / "j.jar", {"com/example/Job.class": b"\xca\xfe"})
        assert jg.jar_entry_class_problem(jar, "com.example.Job") == ("com.example.Job", None)

    def test_class_missing_names_the_option_and_the_entry(self, tmp_path: Path) -> None:
        jar = make_jar(tmp_path / "j.jar", {"com/example/Job.class": b"\xca\xfe"})
        entry, problem = jg.jar_entry_class_problem(jar, "com.example.Other")
        assert entry == "com.example.Other"
        assert problem is not None and "entry_class 'com.example.Other' is not in" in problem
        assert "com/example/Other.class" in problem

    def test_entry_from_manifest(self, tmp_path: Path) -> None:
        jar = make_jar(tmp_path / "j.jar", {"META-INF/MANIFEST.MF": b"Main-Class: com.example.Job\n",
                                            "com/example/Job.class": b"\xca\xfe"})
        assert jg.jar_entry_class_problem(jar, None) == ("com.example.Job", None)

    def test_no_entry_anywhere(self, tmp_path: Path) -> None:
        jar = make_jar(tmp_path / "j.jar", {"com/example/Job.class": b"\xca\xfe"})
        entry, problem = jg.jar_entry_class_problem(jar, "")
        assert entry is None and problem is not None and "set entry_class" in problem

    def test_missing_jar(self, tmp_path: Path) -> None:
        dummy, problem = jg.jar_entry_class_problem(str(tmp_path / "nope.jar"), "a.B")
        assert problem is not None and "does not exist" in problem

    def test_not_a_zip(self, tmp_path: Path) -> None:
        path = tmp_path / "text.jar"
        path.write_text("not a jar")
        dummy, problem = jg.jar_entry_class_problem(str(path), "a.B")
        assert problem is not None and "is not a readable jar" in problem


class TestVersions:
    def test_flink_version_from_dist_jar(self) -> None:
        names = ["log4j-api-2.17.1.jar", "flink-dist_2.12-1.13.6.jar", "flink-table_2.12-1.13.6.jar"]
        assert jg.flink_version_from_lib(names) == "1.13.6"

    def test_flink_version_snapshot(self) -> None:
        assert jg.flink_version_from_lib(["flink-dist_2.11-1.13-SNAPSHOT.jar"]) == "1.13-SNAPSHOT"

    def test_no_dist_jar(self) -> None:
        assert jg.flink_version_from_lib(["flink-table_2.12-1.13.6.jar"]) is None

    @pytest.mark.parametrize("text,major", [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "1.8.0_392"', 8),
        ('openjdk version "11.0.21" 2023-10-17', 11),
        ('java version "21-ea"', 21),
        ("garbage", None),
    ])
    def test_java_major_version(self, text: str, major: int | None) -> None:
        assert jg.java_major_version(text) == major

    def test_java17_flags_only_from_17(self) -> None:
        assert jg.default_jvm_flags(11) == [] and jg.default_jvm_flags(None) == []
        flags = jg.default_jvm_flags(17)
        assert "--add-exports=java.base/sun.net.util=ALL-UNNAMED" in flags
        assert "--add-opens=java.util.concurrent.locks=ALL-UNNAMED" not in flags  # must name java.base/
        assert "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED" in flags
        assert len(flags) == 14


class TestDigestAndRebuild:
    def test_digest_is_stable_and_ignores_dict_order(self) -> None:
        a = record(configuration={"x": "1", "y": "2"})
        b = record(configuration={"y": "2", "x": "1"})
        assert jg.input_digest(a) == jg.input_digest(b)

    @pytest.mark.parametrize("change", [
        {"jar_sha256": "d" * 64}, {"args": ["--topic", "views"]}, {"args": ["--topic"]}, {"parallelism": 3},
        {"flink_version": "1.13.5"}, {"entry_class": "com.example.Other"}, {"savepoint_path": "s3://sp/1"},
        {"job_id": "f" * 32}, {"extra_jar_sha256": []}, {"flink_conf_sha256": None},
        {"configuration": {}},
    ])
    def test_every_input_changes_the_digest(self, change: dict[str, Any]) -> None:
        assert jg.input_digest(record()) != jg.input_digest(record(**change))

    def test_argument_order_matters(self) -> None:
        assert jg.input_digest(record(args=["a", "b"])) != jg.input_digest(record(args=["b", "a"]))

    def test_builder_source_is_part_of_the_record(self) -> None:
        assert record()["builder_sha256"] == jg.builder_source_digest()

    def sidecar(self, rec: dict[str, Any], graph_sha: str = "g" * 64) -> dict[str, Any]:
        return {"digest": jg.input_digest(rec), "graph_sha256": graph_sha, "inputs": rec,
                "result": {"job_id": "0" * 32, "job_name": "j", "vertices": 1}}

    def test_up_to_date(self) -> None:
        rec = record()
        assert jg.rebuild_reason(self.sidecar(rec), rec, "g" * 64) is None

    def test_missing_graph(self) -> None:
        rec = record()
        assert jg.rebuild_reason(self.sidecar(rec), rec, None) == "the JobGraph file does not exist"

    def test_missing_sidecar(self) -> None:
        assert "no sidecar" in (jg.rebuild_reason(None, record(), "g" * 64) or "")

    def test_changed_inputs_are_named(self) -> None:
        old = record()
        new = record(args=["--topic", "views"], parallelism=4)
        assert jg.rebuild_reason(self.sidecar(old), new, "g" * 64) == "the inputs changed (args, parallelism)"

    def test_replaced_graph_file_is_rebuilt(self) -> None:
        rec = record()
        assert "differs" in (jg.rebuild_reason(self.sidecar(rec), rec, "h" * 64) or "")

    def test_sidecar_without_result_is_rebuilt(self) -> None:
        rec = record()
        side = self.sidecar(rec)
        del side["result"]
        assert jg.rebuild_reason(side, rec, "g" * 64) == "the sidecar records no job id"


class TestCommand:
    def test_source_launcher_on_java_17(self) -> None:
        cmds = jg.build_command(
            java="/usr/lib/jvm/j17/bin/java", java_major=17, jvm_flags=["--add-opens=x"], flink_lib_dir="/opt/flink/lib/",
            workdir="/tmp/w", out_path="/tmp/w/job.graph", jar="/jobs/a.jar", entry_class="a.B", parallelism=2,
            args=["--name", "with space", "--", "x"], savepoint_path="s3://b/sp", allow_non_restored_state=True,
            job_id="ABCDEF" + "0" * 26, conf_dir="/etc/flink", extra_jars=["/jobs/l.jar"],
            configuration={"b.key": "2", "a.key": "1"},
        )
        assert cmds == [[
            "/usr/lib/jvm/j17/bin/java", "--add-opens=x", "-cp", "/opt/flink/lib/*", f"/tmp/w/{JAVA_CLASS_NAME}.java",
            "--out", "/tmp/w/job.graph", "--jar", "/jobs/a.jar", "--class", "a.B", "--parallelism", "2",
            "--savepoint", "s3://b/sp", "--allow-non-restored-state", "--job-id", "abcdef" + "0" * 26,
            "--conf-dir", "/etc/flink", "--extra-jar", "/jobs/l.jar", "--set", "a.key=1", "--set", "b.key=2",
            "--", "--name", "with space", "--", "x",
        ]]

    def test_allow_non_restored_without_savepoint_is_not_passed(self) -> None:
        cmd = jg.build_command(java="java", java_major=17, jvm_flags=[], flink_lib_dir="/f/lib", workdir="/w",
                               out_path="/w/g", jar="/j.jar", entry_class="a.B", parallelism=1, args=[],
                               allow_non_restored_state=True)[0]
        assert "--allow-non-restored-state" not in cmd and cmd[-1] == "--"

    def test_java_8_compiles_with_javac_first(self) -> None:
        cmds = jg.build_command(java="/jdk8/bin/java", java_major=8, jvm_flags=[], flink_lib_dir="/f/lib",
                                workdir="/w", out_path="/w/g", jar="/j.jar", entry_class="a.B", parallelism=1, args=[])
        assert cmds[0][:2] == ["/jdk8/bin/javac", "-nowarn"] and cmds[0][-1] == f"/w/{JAVA_CLASS_NAME}.java"
        assert cmds[1][:4] == ["/jdk8/bin/java", "-cp", "/w:/f/lib/*", JAVA_CLASS_NAME]


class TestOutput:
    def test_result_line_among_noise(self) -> None:
        out = "log line\nJOBGRAPH_RESULT " + json.dumps({"job_id": "1" * 32, "job_name": "n", "vertices": 2}) + "\n"
        result, error = jg.parse_builder_output(out)
        assert error is None and result == {"job_id": "1" * 32, "job_name": "n", "vertices": 2}

    def test_error_line(self) -> None:
        causes = [{"class": "org.apache.flink.client.program.ProgramInvocationException",
                   "message": "The main method caused an error: no topic"},
                  {"class": "java.lang.IllegalStateException", "message": "no topic"}]
        result, error = jg.parse_builder_output("JOBGRAPH_ERROR " + json.dumps({"causes": causes}))
        assert result is None and error is not None
        msg = jg.error_message(error, "a.B", "/j.jar")
        assert msg.startswith("Building the JobGraph of a.B from /j.jar failed: java.lang.IllegalStateException: no topic")
        assert "The main method caused an error" in msg

    def test_nothing_printed(self) -> None:
        assert jg.parse_builder_output("") == (None, None)

    def test_no_compiler_hint(self) -> None:
        msg = jg.launcher_problem(1, "java.lang.InternalError: Module jdk.compiler not in boot Layer", "/usr/bin/java")
        assert "java_package_type: jdk" in msg and "jdk.compiler" in msg

    def test_unknown_failure_keeps_the_output_tail(self) -> None:
        msg = jg.launcher_problem(134, "line1\n# A fatal error has been detected", "/usr/bin/java")
        assert msg.startswith("/usr/bin/java exited with 134") and "fatal error" in msg


def test_java_source_is_a_single_public_class_named_like_its_file() -> None:
    assert f"public class {JAVA_CLASS_NAME} " in JAVA_SOURCE
    assert JAVA_SOURCE.count("public class ") == 1
    assert jg.RESULT_MARKER.strip() in JAVA_SOURCE and jg.ERROR_MARKER.strip() in JAVA_SOURCE
