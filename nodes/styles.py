"""Style presets as nodes: Apply Style fills a preset's template with a prompt; Save Style writes a new preset.

Presets are JSON files in two folders: the pack's `styles/` and `spacetime_styles/` in ComfyUI's user
directory. A user's preset shadows a shipped one of the same name (see engine/editing/styles.py).
"""
import pathlib

from comfy_api.latest import io, ui

from ..engine.editing.styles import (SUFFIX, StylePreset, check_name, folder_of, list_styles, load_style, save_style,
                                     template_problem)
from ..engine.file_hash import file_state
from ..engine.sampling import SOLVERS
from . import host
from .validation import checked, choice_problem

SHIPPED_STYLES = pathlib.Path(__file__).resolve().parents[1] / "styles"
USER_FOLDER = "spacetime_styles"
SAMPLERS = list(SOLVERS)
# Core's combo socket type: a sampler name output links to a sampler combo input (the sampler node's).
SamplerName = io.Custom("COMBO")


def user_styles() -> pathlib.Path:
    return host.user_directory() / USER_FOLDER


def style_folders() -> list[pathlib.Path]:
    return [user_styles(), SHIPPED_STYLES]  # the user's first: theirs shadow the shipped ones


def sampler_inputs(tooltip: str) -> list:
    """steps, cfg, shift and sampler, with the sampler node's defaults and ranges."""
    return [
        io.Int.Input("steps", default=30, min=1, max=1000, optional=True,
                     tooltip=f"Sampler steps (20-50; 30 for Wan 2.1). {tooltip}"),
        io.Float.Input("cfg", default=6.0, min=0.0, max=100.0, step=0.1, round=0.01, optional=True,
                       tooltip=f"Prompt guidance (5-6 for Wan 2.1; 1 skips the negative). {tooltip}"),
        io.Float.Input("shift", default=8.0, min=0.01, max=100.0, step=0.1, round=0.01, optional=True,
                       tooltip=f"Noise schedule shift (8 as in core, 5 in Wan's CLI). {tooltip}"),
        io.Combo.Input("sampler", options=SAMPLERS, default="uni_pc", optional=True,
                       tooltip=f"Flow solver (uni_pc, uni_pc_bh2 or euler). {tooltip}"),
    ]


def problem_of(check, *args) -> str | None:
    try:
        check(*args)
    except ValueError as error:
        return str(error)
    return None


class ApplyStyle(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        # Called for every /object_info, so the combo lists the preset files present now.
        return io.Schema(
            node_id="SpacetimeApplyStyle",
            display_name="Apply Style (Spacetime)",
            category="Spacetime/Style",
            description="Puts a prompt into a style preset's template and joins the preset's negative prompt "
            "to yours. Its sampler settings come out as the preset sets them, or as given here where it sets "
            f"none. Presets: the pack's styles/ folder and ComfyUI/user/{USER_FOLDER}/.",
            inputs=[
                io.Combo.Input("style", options=list_styles(style_folders()),
                               tooltip="A preset from the pack's styles/ folder or your ComfyUI/user folder."),
                io.String.Input("prompt", multiline=True, dynamic_prompts=True,
                                tooltip="Your prompt; the style's template puts it in place of {prompt}."),
                io.String.Input("negative_prompt", multiline=True, dynamic_prompts=True, default="",
                                tooltip="Added after the preset's negative prompt."),
                *sampler_inputs("Used when the style sets no value for it."),
            ],
            outputs=[
                io.String.Output(display_name="prompt", tooltip="The styled prompt, for Text Encode's prompt."),
                io.String.Output(display_name="negative_prompt",
                                 tooltip="The preset's negative prompt and yours, for Text Encode's negative_prompt."),
                io.Int.Output(display_name="steps", tooltip="Steps for the Sampler (the style's, else the input)."),
                io.Float.Output(display_name="cfg", tooltip="cfg for the Sampler (the style's, else the input)."),
                io.Float.Output(display_name="shift", tooltip="shift for the Sampler (the style's, else the input)."),
                SamplerName.Output(display_name="sampler",
                                   tooltip="The sampler for the Sampler (the style's, else the input)."),
            ],
        )

    @classmethod
    def validate_inputs(cls, style, sampler="uni_pc"):
        names = list_styles(style_folders())
        problem = choice_problem("style", style, names)
        if problem is None and style is not None:
            problem = problem_of(load_style, style_folders(), style)  # a broken file is named before the run
        return checked(problem, choice_problem("sampler", sampler, SAMPLERS))

    @classmethod
    def fingerprint_inputs(cls, style, **_):
        folder = folder_of(style_folders(), style)  # an edited, shadowed or new preset file is read again
        return None if folder is None else file_state(folder / (style + SUFFIX))

    @classmethod
    def execute(cls, style, prompt, negative_prompt="", steps=30, cfg=6.0, shift=8.0,
                sampler="uni_pc") -> io.NodeOutput:
        preset = load_style(style_folders(), style)
        prompt, negative = preset.apply(prompt, negative_prompt)
        return io.NodeOutput(prompt, negative, *(given if own is None else own for own, given in (
            (preset.steps, steps), (preset.cfg, cfg), (preset.shift, shift), (preset.sampler, sampler))))


class SaveStyle(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SpacetimeSaveStyle",
            display_name="Save Style (Spacetime)",
            category="Spacetime/Style",
            description=f"Saves a style preset as a new file in ComfyUI/user/{USER_FOLDER}/ (share it: others drop "
            "the file into theirs). Never overwrites: a name already in use is refused. Reload the page to see "
            "it in Apply Style.",
            inputs=[
                io.String.Input("name", default="my style",
                                tooltip="The file's name: letters, digits, spaces, '-' and '_'."),
                io.String.Input("description", multiline=True, default="",
                                tooltip="A line or two on what the style looks like (stored in the file)."),
                # No dynamic prompts here: the front end would turn the {prompt} slot into the word "prompt".
                io.String.Input("prompt_template", multiline=True, default="{prompt}", dynamic_prompts=False,
                                tooltip="The styled prompt: {prompt} once, where the prompt goes; no other braces."),
                io.String.Input("negative_prompt", multiline=True, default="", dynamic_prompts=False,
                                tooltip="What the style avoids; joined to the user's negative prompt."),
                io.Boolean.Input("save_sampler_settings", default=False, optional=True,
                                 tooltip="Also store steps, cfg, shift and sampler as the style's defaults."),
                *sampler_inputs("Stored when save_sampler_settings is on."),
            ],
            outputs=[],
            is_output_node=True,
        )

    @classmethod
    def validate_inputs(cls, name, prompt_template, sampler="uni_pc"):
        return checked(None if name is None else problem_of(check_name, name),
                       None if prompt_template is None else template_problem(prompt_template),
                       choice_problem("sampler", sampler, SAMPLERS))

    @classmethod
    def execute(cls, name, description, prompt_template, negative_prompt, save_sampler_settings=False, steps=30,
                cfg=6.0, shift=8.0, sampler="uni_pc") -> io.NodeOutput:
        settings = dict(steps=steps, cfg=cfg, shift=shift, sampler=sampler) if save_sampler_settings else {}
        style = StylePreset(name=name, description=description, prompt_template=prompt_template,
                            negative_prompt=negative_prompt, **settings)
        path, written = save_style(style, user_styles(), [SHIPPED_STYLES])
        message = f"Saved style '{name}' as {path}." if written else f"Style '{name}' is already saved as {path}."
        return io.NodeOutput(ui=ui.PreviewText(message))


NODES = [ApplyStyle, SaveStyle]
