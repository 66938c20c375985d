"""Gradient flow: residual vs plain networks, measured."""
import pandas as pd
import streamlit as st

from explorer import costs, figures, gradflow, i18n, inference, notation, zoo
from explorer.i18n import t
from explorer.ui import banners, cache, choices, permalinks, sidebar, widgets

selection = sidebar.current(__file__)
st.title(t("gradflow.title"))
st.caption(t("gradflow.intro"))

left, middle, right, far = st.columns(4)
permalinks.linked("pair", "flow_pair", list(gradflow.PAIRS))
permalinks.linked("bn", "flow_bn", gradflow.BN_MODES)
permalinks.linked("init", "flow_init", gradflow.INITS)
permalinks.linked("crops", "flow_crops", [1, 2, 4, 8])
pair_name = i18n.bound(lambda k: t("gradflow.pair", **dict(zip(("residual", "plain"), gradflow.pair_names(k)))))
pair = left.selectbox(t("gradflow.networks"), list(gradflow.PAIRS), index=list(gradflow.PAIRS).index("34"),
                      key=choices.relabelled("flow_pair"), format_func=pair_name)
bn = middle.radio(t("gradflow.bn_label"), gradflow.BN_MODES, key=choices.relabelled("flow_bn"), format_func=i18n.names("gradflow.bn"))
init = right.radio(t("gradflow.initialisation"), gradflow.INITS, key=choices.relabelled("flow_init"),
                   format_func=i18n.names("gradflow.init"))
crops = far.select_slider(t("gradflow.crops"), [1, 2, 4, 8], value=4, key="flow_crops")
config = gradflow.FlowConfig(pair=pair, bn=bn, init=init)
if bn == "none" and init == "zero":  # the networks are the same as with the default initialisation
    st.caption(t("gradflow.zero_without_batchnorm"))
target = None
if gradflow.input_size(config) == 224:
    classes, predicted_option = inference.imagenet_names(), t("gradflow.predicted")  # texts made once a run
    permalinks.linked("class", "flow_target", range(len(classes)))
    target = st.selectbox(t("gradflow.target"), [None, *range(len(classes))], key=choices.relabelled("flow_target"),
                          format_func=lambda i: predicted_option if i is None else classes[i])

permalinks.share(pair=pair, bn=bn, init=init, crops=crops, **{"class": target})
with st.spinner(t("gradflow.running")):
    result = cache.twins(config, selection.image, crops, target)
widgets.fell_back(result.run)
residual, plain = result.residual, result.plain
columns = st.columns(3)
columns[0].metric(t("gradflow.residual_grad"), notation.readable(residual.first_conv_grad))
columns[1].metric(t("gradflow.plain_grad"), notation.readable(plain.first_conv_grad))
columns[2].metric(t("gradflow.ratio"), f"{result.first_conv_ratio:,.1f}×")
residual_name, plain_name = gradflow.pair_names(pair)
names = {"residual": t("gradflow.residual_series", name=residual_name),
         "plain": t("gradflow.plain_series", name=plain_name)}
series = lambda attribute, points: {names["residual"]: (getattr(residual, points), getattr(residual, attribute)),
                                    names["plain"]: (getattr(plain, points), getattr(plain, attribute))}
colours = list(figures.PAIR_COLOURS.values())
twin_figure = lambda kind, build: cache.figure(kind, None, selection.image, config, crops, target, build=build)
left, right = st.columns(2)
left.plotly_chart(twin_figure("flow_blocks", lambda: figures.depth_profile_figure(
    series("output_grad", "points"), t("gradflow.block_grads"), t("gradflow.gradient_norm"), colours=colours)),
    key="flow_blocks")
right.plotly_chart(twin_figure("flow_convs", lambda: figures.depth_profile_figure(
    series("weight_grad", "convs"), t("gradflow.conv_grads"), t("gradflow.gradient_norm"), colours=colours)),
    key="flow_convs")
left, right = st.columns(2)
left.plotly_chart(twin_figure("flow_std", lambda: figures.depth_profile_figure(
    series("activation_std", "points"), t("gradflow.forward_std"), t("figures.std"), colours=colours)),
    key="flow_std")
right.plotly_chart(twin_figure("flow_split", lambda: figures.split_figure(result.splits)), key="flow_split")
st.info(t("gradflow.why"), icon=":material/lightbulb:")

st.subheader(t("gradflow.training"))
table_2 = zoo.RESNET_TABLE_2
widgets.table(cache.table("resnet_table_2", None, None, build=lambda: pd.DataFrame(
                  [{t("gradflow.depth"): depth, t("gradflow.plain"): table_2[f"plain{depth}"],
                    t("gradflow.resnet"): table_2[f"resnet{depth}"]} for depth in (18, 34)])),
              key="table_2")
st.caption(t("gradflow.degradation", plain18=table_2["plain18"], plain34=table_2["plain34"],
             resnet18=table_2["resnet18"], resnet34=table_2["resnet34"]))
shortcut_params = costs.summary("resnet34").params - costs.summary("plain34").params
st.caption(t("gradflow.projection", extra=shortcut_params, resnet=costs.summary("resnet34").params,
             plain=costs.summary("plain34").params))
st.caption(t("gradflow.training_caption"))
steps = st.slider(t("gradflow.steps"), 20, 500, 200, 20, key="train_steps")
train_key = f"training:{config}"
trainable = gradflow.input_size(config) == 32
start = st.button(t("gradflow.train"), key="train_start", disabled=not trainable, help=t("gradflow.train_help"))
if not trainable:  # the reason beside the button, not only on hover
    st.caption(t("gradflow.train_help"))
chart = st.empty()
if start:
    st.session_state[train_key] = []
    with widgets.running("train_cancel") as report:  # a cancel keeps the curve trained so far
        for record in gradflow.train(config, steps=steps):
            st.session_state[train_key].append(record)
            if record.step % 10 == 0 or record.step == steps:
                report(record.step / steps, t("gradflow.step", step=record.step, steps=steps, left=record.seconds_left,
                                              residual=record.loss["residual"], plain=record.loss["plain"]))
                chart.plotly_chart(figures.training_figure(st.session_state[train_key]), key=f"train_{record.step}")
elif st.session_state.get(train_key):
    chart.plotly_chart(figures.training_figure(st.session_state[train_key]), key="train_done")

st.subheader(t("gradflow.single", name=selection.spec.name))
with st.spinner(t("gradflow.backward")):
    flow = cache.single_flow(selection.loaded, selection.image)
single = flow.profile
widgets.fell_back(flow.run)
left, right = st.columns(2)
left.plotly_chart(cache.figure("single_outputs", selection.loaded, selection.image, build=lambda: (
    figures.depth_profile_figure({selection.spec.name: (single.points, single.output_grad)},
                                 t("gradflow.single_outputs"), t("gradflow.gradient_norm")))), key="single_outputs")
right.plotly_chart(cache.figure("single_convs", selection.loaded, selection.image, build=lambda: (
    figures.depth_profile_figure({selection.spec.name: (single.convs, single.weight_grad)},
                                 t("gradflow.conv_grads"), t("gradflow.gradient_norm")))), key="single_convs")
st.caption(t("gradflow.single_caption", weights=banners.weights_label(selection.loaded.status),
             target=selection.loaded.class_names[single.target]))
